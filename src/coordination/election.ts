/**
 * Leader election with etcd's clientv3 Election key layout (what etcdctl elect and etcd's
 * Election service use), so both see the same leader. Candidates hold `<name>/<lease hex>`;
 * the leader is the oldest key under `<name>/` by create revision, its value the proclaimed
 * value. A leader is identified by (key, create revision): Proclaim and Resign act only while
 * that key still exists with that create revision.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import {
  EMPTY_BYTES,
  EventType,
  type KeyValue,
  type ResponseHeader,
  type TxnResponse,
} from '../mvcc/index.js';
import { createRevisionIs, firstCreated, participantKey, participantPrefix, prefixRangeEnd } from './keys.js';
import type { CoordinationKv } from './ports.js';
import { leaveLine, waitTurn } from './queue.js';

/** What identifies a leadership (etcd's v3electionpb.LeaderKey). */
export interface LeaderKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
  /** The create revision of key when leadership was won. */
  readonly rev: number;
  readonly lease: number;
}

/** The current leader's key-value and the revision it was read at. */
export interface LeaderState {
  readonly header: ResponseHeader;
  readonly kv: KeyValue;
}

/** etcd's error for a Proclaim (or campaign) by a candidate that does not lead. */
export function notLeader(): CairnError {
  return new CairnError(ErrorCode.ELECTION_NOT_LEADER, 'election: not leader');
}

/** etcd's error for Leader on an election nobody holds. */
export function noLeader(): CairnError {
  return new CairnError(ErrorCode.ELECTION_NO_LEADER, 'election: no leader');
}

/**
 * Puts value forward under lease leaseId and waits until it leads. A lease that already has
 * a key in the election re-uses it (and proclaims value if it differs). Aborting signal, or
 * any failure while waiting, takes the candidate's key out of the election.
 */
export async function campaign(
  kv: CoordinationKv,
  name: Uint8Array,
  leaseId: number,
  value: Uint8Array,
  signal: AbortSignal,
): Promise<{ leader: LeaderKey; header: ResponseHeader }> {
  const prefix = participantPrefix(name);
  const key = participantKey(name, leaseId);
  const resp = await kv.txn({
    compare: [createRevisionIs(key, 0)],
    success: [{ requestPut: { key, value, lease: leaseId } }],
    failure: [{ requestRange: { key } }],
  });
  let rev = resp.header.revision;
  if (!resp.succeeded) {
    const existing = (resp.responses[0] as { responseRange: { kvs: readonly KeyValue[] } }).responseRange
      .kvs[0]!;
    rev = existing.createRevision;
    if (Buffer.compare(existing.value, value) !== 0) {
      try {
        await proclaim(kv, { name, key, rev, lease: leaseId }, value);
      } catch (err) {
        await leaveLine(kv, key, rev).catch(() => {});
        throw err;
      }
    }
  }
  const leader: LeaderKey = { name, key, rev, lease: leaseId };
  try {
    const turn = await waitTurn(
      kv,
      { prefix, key, createRevision: rev, seenAtRevision: resp.header.revision },
      signal,
    );
    if (turn.kind === 'ownKeyDeleted') throw notLeader();
    if (turn.header.revision === resp.header.revision) return { leader, header: turn.header };
    // It waited: make sure its key outlived the wait (a lease may end as the line clears).
    const check = await kv.range({ key });
    if (check.kvs[0]?.createRevision !== rev) throw notLeader();
    return { leader, header: check.header };
  } catch (err) {
    await leaveLine(kv, key, rev).catch(() => {});
    throw err;
  }
}

function leaderTxn(
  kv: CoordinationKv,
  leader: LeaderKey,
  op: 'put' | 'delete',
  value?: Uint8Array,
): Promise<TxnResponse> {
  const key = leader.key;
  return kv.txn({
    compare: [createRevisionIs(key, leader.rev)],
    success: [
      op === 'put'
        ? { requestPut: { key, value: value ?? EMPTY_BYTES, lease: leader.lease } }
        : { requestDeleteRange: { key } },
    ],
  });
}

/** Announces a new value without a new election; ELECTION_NOT_LEADER if the leadership is gone. */
export async function proclaim(
  kv: CoordinationKv,
  leader: LeaderKey,
  value: Uint8Array,
): Promise<ResponseHeader> {
  const resp = await leaderTxn(kv, leader, 'put', value);
  if (!resp.succeeded) throw notLeader();
  return resp.header;
}

/** Gives up leadership (deletes the key if it is still this leadership's); a no-op otherwise, as etcd. */
export async function resign(kv: CoordinationKv, leader: LeaderKey): Promise<ResponseHeader> {
  return (await leaderTxn(kv, leader, 'delete')).header;
}

/** The current leader's key and value; ELECTION_NO_LEADER if there is none. */
export async function currentLeader(kv: CoordinationKv, name: Uint8Array): Promise<LeaderState> {
  const r = await kv.range(firstCreated(participantPrefix(name)));
  const first = r.kvs[0];
  if (!first) throw noLeader();
  return { header: r.header, kv: first };
}

/**
 * The leader's key-value now and after every change: each value the leader proclaims, then
 * the next leader when it resigns or its lease ends. Waits for a first leader if there is
 * none. Ends when signal aborts; throws if a read or watch fails.
 */
export async function* observeLeader(
  kv: CoordinationKv,
  name: Uint8Array,
  signal: AbortSignal,
): AsyncGenerator<LeaderState> {
  const prefix = participantPrefix(name);
  while (!signal.aborted) {
    const r = await kv.range(firstCreated(prefix));
    let state: LeaderState | undefined = r.kvs[0] ? { header: r.header, kv: r.kvs[0] } : undefined;
    if (!state) {
      // Nobody leads: the first key put under the prefix does.
      for await (const batch of kv.watch(
        { key: prefix, rangeEnd: prefixRangeEnd(prefix) },
        r.header.revision,
        signal,
      )) {
        const put = batch.events.find((e) => e.type === EventType.Put);
        if (put) {
          state = { header: { revision: put.kv.modRevision }, kv: put.kv };
          break;
        }
      }
      if (!state) return;
    }
    yield state;
    let leaderDeleted = false;
    for await (const batch of kv.watch({ key: state.kv.key }, state.header.revision + 1, signal)) {
      for (const e of batch.events) {
        if (e.type === EventType.Delete) {
          leaderDeleted = true;
          break;
        }
        yield { header: { revision: batch.revision }, kv: e.kv };
      }
      if (leaderDeleted) break;
    }
    if (!leaderDeleted) return;
  }
}
