/**
 * What happens after the faults: bring every member back (heal the network, resume, restart),
 * wait until the cluster agrees (a leader; every member at the same applied index and
 * revision), compare HashKV across members at that revision, and read each key's history
 * through Watch to learn which unknown-outcome writes were ever applied.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../../src/common/proto-loader.js';
import type { HistoryOp } from './checker/history.js';
import { type ChaosCluster, type MemberStatus, sleep } from './cluster.js';

/** Heals the network, resumes paused members, starts stopped ones. */
export function bringEveryoneBack(c: ChaosCluster): void {
  c.network.healAll();
  for (const n of c.names) {
    c.resume(n);
    c.startMember(n);
  }
}

/** Waits until a leader exists and every member reports the same applied index and revision; the revision, or undefined. */
export async function waitConverged(c: ChaosCluster, timeoutMs: number): Promise<number | undefined> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const all = await Promise.all(c.names.map((n) => c.status(n, 1000)));
    const live = all.filter((s): s is MemberStatus => s !== undefined);
    if (live.length === all.length) {
      const leaderKnown = live.every((s) => s.leader !== 0 && s.leader === live[0]!.leader);
      const applied = new Set(live.map((s) => s.raftAppliedIndex));
      const revisions = new Set(live.map((s) => s.revision));
      if (leaderKnown && applied.size === 1 && revisions.size === 1) return live[0]!.revision;
    }
    await sleep(200);
  }
  return undefined;
}

/** The outcome of comparing HashKV across members. */
export interface HashCheck {
  readonly ok: boolean;
  readonly detail: string;
}

/** Every member's HashKV at one revision: equal, or the differing hashes. */
export async function compareHashes(c: ChaosCluster, timeoutMs: number): Promise<HashCheck> {
  const revision = await waitConverged(c, timeoutMs);
  if (revision === undefined) return { ok: false, detail: `members did not converge within ${timeoutMs} ms` };
  const hashes: string[] = [];
  for (const n of c.names) {
    try {
      const h = await c.hashKv(n, revision);
      hashes.push(`${n}=${h.hash}`);
    } catch (err) {
      return { ok: false, detail: `HashKV on ${n} failed: ${(err as Error).message}` };
    }
  }
  const distinct = new Set(hashes.map((h) => h.split('=')[1]));
  return { ok: distinct.size === 1, detail: `at revision ${revision}: ${hashes.join(' ')}` };
}

/**
 * Every value ever put on each key, read through one Watch over the whole key space from
 * revision 1 until the event at `revision` (every revision is some key's put or delete).
 * Rejects if the history is not complete within timeoutMs.
 */
export async function writtenValues(
  endpoint: string,
  revision: number,
  timeoutMs: number,
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (revision <= 1) return out;
  const { Watch } = etcdServices();
  const client = new Watch(endpoint, grpc.credentials.createInsecure());
  type WatchStream = grpc.ClientDuplexStream<object, WatchReply>;
  const stream = (client as unknown as { Watch: (o: grpc.CallOptions) => WatchStream }).Watch({
    deadline: Date.now() + timeoutMs,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (r: WatchReply) => {
        for (const e of r.events ?? []) {
          if (!e.kv) continue;
          const key = e.kv.key.toString();
          if (e.type === 0) {
            const set = out.get(key) ?? new Set<string>();
            set.add(e.kv.value.toString());
            out.set(key, set);
          }
          if (e.kv.mod_revision >= revision) resolve();
        }
      });
      stream.on('error', reject);
      stream.on('end', () => reject(new Error('watch ended early')));
      stream.write({
        create_request: { key: Buffer.from([0]), range_end: Buffer.from([0]), start_revision: 1 },
      });
    });
  } finally {
    stream.cancel();
    client.close();
  }
  return out;
}

interface WatchReply {
  events?: { type: number; kv?: { key: Buffer; value: Buffer; mod_revision: number } }[];
}

/**
 * Drops unknown-outcome puts and CAS whose (unique) value never appears in the key's
 * history: they were never applied. Others stay unknown. Returns the history to check.
 */
export function resolveUnknown(
  history: readonly HistoryOp[],
  written: ReadonlyMap<string, ReadonlySet<string>>,
): { history: HistoryOp[]; neverApplied: number } {
  let neverApplied = 0;
  const out = history.filter((h) => {
    if (h.returnMs !== undefined || (h.op.kind !== 'put' && h.op.kind !== 'cas')) return true;
    if (written.get(h.key)?.has(h.op.value)) return true;
    neverApplied++;
    return false;
  });
  return { history: out, neverApplied };
}
