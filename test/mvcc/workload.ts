/** A seeded random workload of every command type, shared by the snapshot, persistence and determinism tests. */
import {
  type Command,
  type CompareResult,
  CompareTarget,
  type MvccStore,
  type RangeRequest,
  type RequestOp,
  SortOrder,
  SortTarget,
} from '../../src/mvcc/index.js';
import { b, prng } from './support.js';

const KEYS = ['a', 'b', 'c', 'd', 'e/1', 'e/2', 'e/3', 'f', 'g\u0000', 'zz'];

/**
 * Generates commands from a seed: puts (some with leases, prevKv, ignore flags), deletes,
 * txns, deleteKeys, compactions. Lazy: each compaction target is drawn from the store's
 * revisions at the moment it is generated, so apply each command before taking the next.
 */
export function* workload(seed: number, count: number, store: () => MvccStore): Generator<Command> {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const key = () => b(KEYS[int(KEYS.length)]!);
  const value = () => b(`v${int(1000)}`.repeat(1 + int(3)));
  const putOp = (): RequestOp => ({ requestPut: { key: key(), value: value(), lease: int(3) } });
  for (let i = 0; i < count; i++) {
    const roll = int(100);
    let c: Command;
    if (roll < 45) {
      c = { type: 'put', request: { key: key(), value: value(), lease: int(4), prevKv: random() < 0.3 } };
    } else if (roll < 50) {
      c = { type: 'put', request: { key: key(), ignoreValue: true, lease: int(2) } };
    } else if (roll < 62) {
      c =
        random() < 0.5
          ? { type: 'deleteRange', request: { key: key(), prevKv: true } }
          : { type: 'deleteRange', request: { key: b('e/'), rangeEnd: b('e0') } };
    } else if (roll < 85) {
      c = {
        type: 'txn',
        request: {
          compare: [
            { key: key(), target: CompareTarget.Version, result: int(4) as CompareResult, version: int(3) },
          ],
          success: [putOp(), { requestRange: { key: b('a'), rangeEnd: b('z') } }],
          failure: [{ requestDeleteRange: { key: key() } }, { requestTxn: { success: [putOp()] } }],
        },
      };
    } else if (roll < 95) {
      c = { type: 'deleteKeys', keys: [key(), key()] };
    } else {
      const s = store();
      const span = s.currentRevision - s.compactedRevision;
      c = { type: 'compact', request: { revision: s.compactedRevision + 1 + int(Math.max(span, 1)) } };
    }
    yield c;
  }
}

/** A battery of reads over every option at several revisions; errors are answered as their codes. */
export function readBattery(store: MvccStore): unknown[] {
  const out: unknown[] = [];
  const all = { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) };
  const revisions = [0, store.compactedRevision, store.compactedRevision + 1, store.currentRevision - 1, 1];
  const variants: Partial<RangeRequest>[] = [
    {},
    { limit: 3 },
    { countOnly: true },
    { keysOnly: true, sortOrder: SortOrder.Descend },
    { sortTarget: SortTarget.Create, sortOrder: SortOrder.Ascend },
    { sortTarget: SortTarget.Version, sortOrder: SortOrder.Descend, limit: 2 },
    { minModRevision: 5, maxCreateRevision: 40 },
    { key: b('e/'), rangeEnd: b('e0') },
    { key: b('c') },
  ];
  for (const revision of revisions) {
    for (const variant of variants) {
      try {
        out.push(store.range({ ...all, ...variant, revision }));
      } catch (err) {
        out.push((err as { code: string }).code);
      }
    }
  }
  for (const revision of revisions) {
    try {
      out.push(store.hashKV(revision));
    } catch (err) {
      out.push((err as { code: string }).code);
    }
  }
  out.push(store.currentRevision, store.compactedRevision, store.recordCount, store.indexedKeyCount);
  out.push([0, 1, 2, 3].map((lease) => store.keysOfLease(lease)));
  return out;
}
