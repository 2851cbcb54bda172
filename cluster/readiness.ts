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

/**
 * Polls every endpoint until all of them name the same leader and that member reports itself
 * leader: a client spread over the members then meets no "no leader" from one that has not
 * heard of the election yet. Fails after timeoutMs.
 */
export async function waitForAgreedLeader(
  endpoints: readonly string[],
  timeoutMs: number,
  names?: readonly string[],
  tls: ClientTlsFiles = {},
): Promise<LeaderFound> {
  const credentials = channelCredentialsFromFiles(tls);
  const until = Date.now() + timeoutMs;
  let lastState = 'no answer yet';
  while (Date.now() < until) {
    const seen = await Promise.all(
      endpoints.map((url) =>
        status(url, 1000, credentials).then(
          (s) => ({ leader: s.leader, self: s.header.member_id }),
          (err: Error) => ({ leader: 0, self: 0, error: err.message }),
        ),
      ),
    );
    const leader = seen[0]?.leader ?? 0;
    const at = seen.findIndex((s) => s.self === leader);
    if (leader !== 0 && at >= 0 && seen.every((s) => s.leader === leader))
      return { name: names?.[at] ?? endpoints[at]!, url: endpoints[at]! };
    lastState = seen.map((s, i) => `${names?.[i] ?? endpoints[i]}: leader ${s.leader}`).join(', ');
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the members did not agree on a leader within ${timeoutMs} ms (${lastState})`);
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
