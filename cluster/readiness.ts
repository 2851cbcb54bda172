/**
 * Waits until a local cluster has elected a leader, asking each member's Maintenance.Status
 * (over TLS, with the cluster's client certificate, for https endpoints).
 */
import * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../src/common/proto-loader.js';
import { type ClientTlsFiles, channelCredentialsFromFiles } from '../src/common/tls.js';

/** The member that leads, by client URL and name. */
export interface LeaderFound {
  readonly name: string;
  readonly url: string;
}

function status(
  url: string,
  timeoutMs: number,
  tls: grpc.ChannelCredentials,
): Promise<{ leader: number; header: { member_id: number } }> {
  const u = new URL(url);
  const { Maintenance } = etcdServices();
  const credentials = u.protocol === 'https:' ? tls : grpc.credentials.createInsecure();
  const client = new Maintenance(`${u.hostname}:${u.port}`, credentials);
  return new Promise((resolve, reject) => {
    (
      client as unknown as {
        Status: (req: object, opts: grpc.CallOptions, cb: (e: Error | null, r: never) => void) => void;
      }
    ).Status({}, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

/** Polls the endpoints until one of them reports itself as leader; fails after timeoutMs. https endpoints are dialled with tls. */
export async function waitForLeader(
  endpoints: readonly string[],
  timeoutMs: number,
  names?: readonly string[],
  tls: ClientTlsFiles = {},
): Promise<LeaderFound> {
  const credentials = channelCredentialsFromFiles(tls);
  const until = Date.now() + timeoutMs;
  let lastError = 'no answer yet';
  while (Date.now() < until) {
    for (let i = 0; i < endpoints.length; i++) {
      const url = endpoints[i]!;
      try {
        const s = await status(url, 1000, credentials);
        if (s.leader !== 0 && s.leader === s.header.member_id) return { name: names?.[i] ?? url, url };
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no leader within ${timeoutMs} ms (${lastError})`);
}

/** Polls one endpoint until it answers Maintenance.Status (a joining member is serving); fails after timeoutMs. */
export async function waitForServing(
  endpoint: string,
  timeoutMs: number,
  tls: ClientTlsFiles = {},
): Promise<void> {
  const credentials = channelCredentialsFromFiles(tls);
  const until = Date.now() + timeoutMs;
  let lastError = 'no answer yet';
  while (Date.now() < until) {
    try {
      await status(endpoint, 1000, credentials);
      return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${endpoint} not serving within ${timeoutMs} ms (${lastError})`);
}
