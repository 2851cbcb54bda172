/**
 * What the fuzzer lets change, stated once: a request the server would decode (with the
 * same proto-loader options) is sent only if every write it can make lands under
 * FUZZ_PREFIX (or in Cairn's own `/cairn/` records: locks, membership, coordinator), it
 * compacts nothing the seeded data needs, and it touches no real member, alarm or
 * leadership. Everything else may be answered with any error, but must not change the
 * seeded keys, the member list, the alarms, or HashKV at the seed revision.
 */
import { FUZZ_PREFIX, FUZZ_PREFIX_END } from './generate.js';
import type { ApiMethod } from './schema.js';

/** Facts about the cluster the guard needs. */
export interface GuardContext {
  /** Ids of the cluster's members (as the decoder sees them: Numbers). */
  readonly memberIds: readonly number[];
}

type Obj = Record<string, unknown>;

const PREFIX = Buffer.from(FUZZ_PREFIX);
const PREFIX_END = Buffer.from(FUZZ_PREFIX_END);
/** A Compact at or below this revision, or at or above FUTURE_REVISION, removes nothing the seed needs. */
const HARMLESS_COMPACT_REVISION = 1;
const FUTURE_REVISION = 1e12;

function bytes(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v) : Buffer.alloc(0);
}

function underPrefix(v: unknown): boolean {
  const b = bytes(v);
  return b.length >= PREFIX.length && b.subarray(0, PREFIX.length).equals(PREFIX);
}

function emptyOrUnderPrefix(v: unknown): boolean {
  return bytes(v).length === 0 || underPrefix(v);
}

/** A [key, range_end) that stays inside FUZZ_PREFIX. */
function rangeUnderPrefix(key: unknown, rangeEnd: unknown): boolean {
  if (!underPrefix(key)) return false;
  const end = bytes(rangeEnd);
  if (end.length === 0) return true;
  if (end.length === 1 && end[0] === 0) return false; // "\0": every key from `key` up
  return Buffer.compare(end, PREFIX_END) <= 0;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}

function txnSafe(txn: Obj | undefined, depth: number): boolean {
  if (!txn) return true;
  if (depth > 10_000) return false;
  const ops = [...((txn.success as Obj[]) ?? []), ...((txn.failure as Obj[]) ?? [])];
  return ops.every((op) => {
    if (op.request_put) return underPrefix((op.request_put as Obj).key);
    if (op.request_delete_range) {
      const d = op.request_delete_range as Obj;
      return rangeUnderPrefix(d.key, d.range_end);
    }
    if (op.request_txn) return txnSafe(op.request_txn as Obj, depth + 1);
    return true;
  });
}

/** Why a decoded request must not be sent, or undefined if it may. */
export function unsafeReason(method: ApiMethod, req: Obj, ctx: GuardContext): string | undefined {
  const isMember = (id: unknown): boolean => ctx.memberIds.includes(num(id));
  const leaderKey = (req.leader as Obj | null | undefined) ?? {};
  switch (method.path) {
    case '/etcdserverpb.KV/Put':
      return underPrefix(req.key) ? undefined : 'put outside the fuzz prefix';
    case '/etcdserverpb.KV/DeleteRange':
      return rangeUnderPrefix(req.key, req.range_end) ? undefined : 'delete outside the fuzz prefix';
    case '/etcdserverpb.KV/Txn':
      return txnSafe(req, 0) ? undefined : 'txn writes outside the fuzz prefix';
    case '/etcdserverpb.KV/Compact': {
      const r = num(req.revision);
      return r <= HARMLESS_COMPACT_REVISION || r >= FUTURE_REVISION
        ? undefined
        : 'compaction of live history';
    }
    case '/etcdserverpb.Cluster/MemberAdd': {
      const urls = (req.peerURLs as string[]) ?? [];
      // Anything that looks like a URL might be accepted; only lists of non-URLs are sent.
      return urls.some((u) => /^\s*https?:/i.test(u)) ? 'member add with a plausible URL' : undefined;
    }
    case '/etcdserverpb.Cluster/MemberRemove':
    case '/etcdserverpb.Cluster/MemberUpdate':
    case '/etcdserverpb.Maintenance/MoveLeader':
      return isMember(req.ID ?? req.targetID) ? 'targets a real member' : undefined;
    case '/etcdserverpb.Maintenance/Alarm':
      return num(req.action) === 1 && [1, 2].includes(num(req.alarm)) ? 'activates an alarm' : undefined;
    case '/v3lockpb.Lock/Lock':
    case '/v3electionpb.Election/Campaign':
      return underPrefix(req.name) ? undefined : 'lock or campaign outside the fuzz prefix';
    case '/v3lockpb.Lock/Unlock':
      return underPrefix(req.key) ? undefined : 'unlock outside the fuzz prefix';
    case '/v3electionpb.Election/Proclaim':
    case '/v3electionpb.Election/Resign':
      return underPrefix(leaderKey.key) && emptyOrUnderPrefix(leaderKey.name)
        ? undefined
        : 'proclaim or resign outside the fuzz prefix';
    case '/cairn.v1.LockService/Acquire':
    case '/cairn.v1.LockService/TryAcquire':
    case '/cairn.v1.LockService/AcquireRead':
    case '/cairn.v1.LockService/AcquireWrite':
    case '/cairn.v1.LockService/AcquireSemaphore':
      return underPrefix(req.name) ? undefined : 'lock outside the fuzz prefix';
    case '/cairn.v1.LockService/Release':
      return emptyOrUnderPrefix(req.key) && emptyOrUnderPrefix(req.name)
        ? undefined
        : 'release outside the fuzz prefix';
    default:
      // Reads, watches, leases, Cairn's membership and coordinator records (under /cairn/).
      return undefined;
  }
}
