/**
 * What the fuzzer checks about the cluster around a run: it seeds known keys, then records
 * per member the seeded keys (a serializable range, so each member answers from its own
 * data), HashKV at the seed revision, the member list and the alarms; afterwards the same
 * record must come back, every member must be alive with one agreed leader, a put/get must
 * work, and each member's resident memory must stay under a bound.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../../src/common/proto-loader.js';
import { FUZZ_PREFIX, SEED_PREFIX } from './generate.js';

type Unary = (
  req: unknown,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: never) => void,
) => void;
type AnyClient = grpc.Client & Record<string, Unary>;

/** Typed etcd clients for one member. */
export interface MemberClients {
  readonly endpoint: string;
  readonly kv: AnyClient;
  readonly maintenance: AnyClient;
  readonly cluster: AnyClient;
  close(): void;
}

/** Opens KV, Maintenance and Cluster clients on an endpoint. */
export function memberClients(endpoint: string): MemberClients {
  const s = etcdServices();
  const creds = grpc.credentials.createInsecure();
  const kv = new s.KV(endpoint, creds) as unknown as AnyClient;
  const maintenance = new s.Maintenance(endpoint, creds) as unknown as AnyClient;
  const cluster = new s.Cluster(endpoint, creds) as unknown as AnyClient;
  return {
    endpoint,
    kv,
    maintenance,
    cluster,
    close: () => {
      kv.close();
      maintenance.close();
      cluster.close();
    },
  };
}

/** Calls a unary method with a deadline. */
export function call<T>(client: AnyClient, method: string, req: unknown, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = client[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res as T),
    );
  });
}

/** Retries an operation until it succeeds or the time is up (a fresh cluster may still be electing). */
export async function retry<T>(fn: () => Promise<T>, forMs = 20_000): Promise<T> {
  const until = Date.now() + forMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Number of seeded keys. */
export const SEED_KEYS = 8;

/** Writes the seed keys (two versions of some, one deleted and re-created) and returns the revision after. */
export async function seedData(m: MemberClients): Promise<number> {
  for (let i = 0; i < SEED_KEYS; i++)
    await retry(() =>
      call(m.kv, 'Put', { key: Buffer.from(`${SEED_PREFIX}k${i}`), value: Buffer.from(`v${i}`) }),
    );
  await call(m.kv, 'Put', { key: Buffer.from(`${SEED_PREFIX}k1`), value: Buffer.from('v1-second') });
  await call(m.kv, 'DeleteRange', { key: Buffer.from(`${SEED_PREFIX}k2`) });
  const r = await call<{ header: { revision: number } }>(m.kv, 'Put', {
    key: Buffer.from(`${SEED_PREFIX}k2`),
    value: Buffer.from('v2-again'),
  });
  return r.header.revision;
}

/** What must not change, as one member sees it. */
export interface MemberRecord {
  readonly seedKeys: string;
  readonly hashAtSeed: number;
  /** Whether history the seed needs was compacted (Compact at or below revision 1 is allowed). */
  readonly compactedPastOne: boolean;
  readonly members: string;
  readonly alarms: string;
}

/** Reads one member's record (waits until it has applied the seed revision). */
export async function recordOf(m: MemberClients, seedRevision: number): Promise<MemberRecord> {
  const range = await retry(async () => {
    const r = await call<{ header: { revision: number }; kvs: unknown[] }>(m.kv, 'Range', {
      key: Buffer.from(SEED_PREFIX),
      range_end: Buffer.from(
        SEED_PREFIX.slice(0, -1) + String.fromCharCode(SEED_PREFIX.charCodeAt(SEED_PREFIX.length - 1) + 1),
      ),
      serializable: true,
    });
    if (r.header.revision < seedRevision) throw new Error('member behind the seed revision');
    return r;
  });
  const h = await call<{ hash: number; compact_revision: number }>(m.maintenance, 'HashKV', {
    revision: seedRevision,
  });
  const members = await call<{
    members: { ID: number; name: string; peerURLs: string[]; isLearner: boolean }[];
  }>(m.cluster, 'MemberList', {});
  const alarms = await call<{ alarms: unknown[] }>(m.maintenance, 'Alarm', { action: 0 });
  return {
    seedKeys: JSON.stringify(range.kvs),
    hashAtSeed: h.hash,
    compactedPastOne: h.compact_revision > 1,
    members: JSON.stringify(
      members.members
        .map((x) => ({ id: x.ID, peerURLs: x.peerURLs, learner: x.isLearner }))
        .sort((a, b) => a.id - b.id),
    ),
    alarms: JSON.stringify(alarms.alarms),
  };
}

/** The member ids, from MemberList. */
export async function memberIds(m: MemberClients): Promise<number[]> {
  const r = await retry(() => call<{ members: { ID: number }[] }>(m.cluster, 'MemberList', {}));
  return r.members.map((x) => x.ID);
}

/** Every member reports the same non-zero leader, and a put then get through each member works. */
export async function checkServing(ms: readonly MemberClients[]): Promise<string | undefined> {
  const leaders = await Promise.all(
    ms.map((m) =>
      retry(() =>
        call<{ leader: number }>(m.maintenance, 'Status', {}).then((s) => {
          if (!s.leader) throw new Error('no leader yet');
          return s.leader;
        }),
      ),
    ),
  );
  if (new Set(leaders).size !== 1) return `members disagree on the leader: ${leaders.join(', ')}`;
  for (const m of ms) {
    const key = Buffer.from(`${FUZZ_PREFIX}after/${m.endpoint}`);
    await retry(() => call(m.kv, 'Put', { key, value: Buffer.from('ok') }), 10_000);
    const r = await call<{ kvs: { value: Buffer }[] }>(m.kv, 'Range', { key });
    if (r.kvs[0]?.value.toString() !== 'ok')
      return `put/get through ${m.endpoint} read ${JSON.stringify(r.kvs)}`;
  }
  return undefined;
}

/** Resident set size of a process in bytes (VmRSS in /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  if (!line) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(line.replace(/[^0-9]/g, '')) * 1024;
}
