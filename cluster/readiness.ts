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

/** What one member answered to Maintenance.Status in one round: the leader it names and its own id, or why it did not answer. */
type Seen = { readonly leader: number; readonly self: number } | { readonly error: string };

/**
 * Asks every endpoint for its status (in parallel) every 200 ms until `decide` makes something
 * of one round's answers; after timeoutMs fails with `what` and the last round's answers.
 */
async function pollStatus<T>(
  endpoints: readonly string[],
  timeoutMs: number,
  tls: ClientTlsFiles,
  decide: (seen: readonly Seen[]) => T | undefined,
  what: string,
  names?: readonly string[],
): Promise<T> {
  const credentials = channelCredentialsFromFiles(tls);
  const until = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < until) {
    const seen = await Promise.all(
      endpoints.map((url) =>
        status(url, 1000, credentials).then(
          (s): Seen => ({ leader: s.leader, self: s.header.member_id }),
          (err: Error): Seen => ({ error: err.message }),
        ),
      ),
    );
    const decided = decide(seen);
    if (decided !== undefined) return decided;
    last = seen
      .map((s, i) => `${names?.[i] ?? endpoints[i]}: ${'error' in s ? s.error : `leader ${s.leader}`}`)
      .join(', ');
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} within ${timeoutMs} ms (${last})`);
}

/** The member at position i as found. */
function found(endpoints: readonly string[], names: readonly string[] | undefined, i: number): LeaderFound {
  return { name: names?.[i] ?? endpoints[i]!, url: endpoints[i]! };
}

/** Polls the endpoints until one of them reports itself as leader; fails after timeoutMs. https endpoints are dialled with tls. */
export function waitForLeader(
  endpoints: readonly string[],
  timeoutMs: number,
  names?: readonly string[],
  tls: ClientTlsFiles = {},
): Promise<LeaderFound> {
  const decide = (seen: readonly Seen[]): LeaderFound | undefined => {
    const at = seen.findIndex((s) => 'self' in s && s.leader !== 0 && s.leader === s.self);
    return at >= 0 ? found(endpoints, names, at) : undefined;
  };
  return pollStatus(endpoints, timeoutMs, tls, decide, 'no leader', names);
}

/**
 * Polls every endpoint until all of them name the same leader and that member reports itself
 * leader: a client spread over the members then meets no "no leader" from one that has not
 * heard of the election yet. Fails after timeoutMs.
 */
export function waitForAgreedLeader(
  endpoints: readonly string[],
  timeoutMs: number,
  names?: readonly string[],
  tls: ClientTlsFiles = {},
): Promise<LeaderFound> {
  const decide = (seen: readonly Seen[]): LeaderFound | undefined => {
    const first = seen[0];
    const leader = first !== undefined && 'self' in first ? first.leader : 0;
    if (leader === 0 || !seen.every((s) => 'self' in s && s.leader === leader)) return undefined;
    const at = seen.findIndex((s) => 'self' in s && s.self === leader);
    return at >= 0 ? found(endpoints, names, at) : undefined;
  };
  return pollStatus(endpoints, timeoutMs, tls, decide, 'the members did not agree on a leader', names);
}

/** Polls one endpoint until it answers Maintenance.Status (a joining member is serving); fails after timeoutMs. */
export async function waitForServing(
  endpoint: string,
  timeoutMs: number,
  tls: ClientTlsFiles = {},
): Promise<void> {
  const decide = (seen: readonly Seen[]): true | undefined => ('self' in seen[0]! ? true : undefined);
  await pollStatus([endpoint], timeoutMs, tls, decide, `${endpoint} not serving`);
}
