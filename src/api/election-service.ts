/**
 * etcd's v3electionpb.Election service over the coordination election recipe: Campaign
 * waits until the candidate leads, Proclaim and Resign act on a LeaderKey, Leader reads the
 * current leader and Observe streams every leader value. Cancelling a Campaign or an
 * Observe stops its wait and closes its watches.
 */
import type * as grpc from '@grpc/grpc-js';
import { CairnError, ErrorCode } from '../common/errors.js';
import {
  campaign,
  currentLeader,
  type LeaderKey,
  observeLeader,
  proclaim,
  resign,
} from '../coordination/election.js';
import type { CoordinationKv } from '../coordination/ports.js';
import {
  cancellableUnary,
  drained,
  type HeaderAt,
  requiredName,
  type UnaryHandler,
  wireBytes,
  wireInt,
} from './coordination-wire.js';
import { toGrpcError } from './errors.js';
import { kvToWire } from './kv-wire.js';

// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects
type Wire = any;

function leaderFromWire(w: Wire): LeaderKey {
  if (w === null || w === undefined)
    throw new CairnError(ErrorCode.ELECTION_MISSING_LEADER_KEY, '"leader" field must be provided');
  return {
    name: wireBytes(w.name),
    key: requiredName(w.key),
    rev: wireInt(w.rev, 'rev'),
    lease: wireInt(w.lease, 'lease'),
  };
}

function leaderToWire(l: LeaderKey): Wire {
  return { name: l.name, key: l.key, rev: l.rev, lease: l.lease };
}

/** The handlers of v3electionpb.Election. */
export function electionHandlers(
  kv: CoordinationKv,
  headerAt: HeaderAt,
): Record<string, UnaryHandler | ((call: grpc.ServerWritableStream<unknown, unknown>) => void)> {
  return {
    Campaign: cancellableUnary(async (w: Wire, signal) => {
      const name = requiredName(w.name);
      const lease = wireInt(w.lease, 'lease');
      const won = await campaign(kv, name, lease, wireBytes(w.value), signal);
      return { header: headerAt(won.header.revision), leader: leaderToWire(won.leader) };
    }),
    Proclaim: cancellableUnary(async (w: Wire) => {
      const header = await proclaim(kv, leaderFromWire(w.leader), wireBytes(w.value));
      return { header: headerAt(header.revision) };
    }),
    Leader: cancellableUnary(async (w: Wire) => {
      const leader = await currentLeader(kv, requiredName(w.name));
      return { header: headerAt(leader.header.revision), kv: kvToWire(leader.kv) };
    }),
    Resign: cancellableUnary(async (w: Wire) => {
      const header = await resign(kv, leaderFromWire(w.leader));
      return { header: headerAt(header.revision) };
    }),
    Observe(call: grpc.ServerWritableStream<unknown, unknown>): void {
      const controller = new AbortController();
      const onCancel = (): void => controller.abort();
      call.on('cancelled', onCancel);
      const signal = controller.signal;
      const stream = async (): Promise<void> => {
        const name = requiredName((call.request as Wire).name);
        for await (const state of observeLeader(kv, name, signal)) {
          const more = call.write({ header: headerAt(state.header.revision), kv: kvToWire(state.kv) });
          if (!more) await drained(call, signal);
          if (signal.aborted) return;
        }
      };
      stream()
        .then(
          () => {
            if (!signal.aborted) call.end();
          },
          (err: unknown) => {
            if (!signal.aborted) call.emit('error', toGrpcError(err));
          },
        )
        .finally(() => {
          call.removeListener('cancelled', onCancel);
          controller.abort();
        });
    },
  };
}
