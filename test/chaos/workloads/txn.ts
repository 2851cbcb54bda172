/**
 * The two-phase-commit workload: coordinators begin transactions over two or three of four
 * participants; each participant (the SDK's Participant, driven by run()) prepares with a
 * random YES or NO; now and then the coordinator aborts on its own, or a participant never
 * shows up and the deadline decides. Every record any call answered is recorded, as are the
 * votes and acks that were acknowledged and the decisions the participants applied; a
 * decision stream over all records adds what it saw.
 */
import {
  type Client,
  type Coordinator,
  isClientError,
  Participant,
  type TxnRecord,
} from '../../../src/client/index.js';
import type { ParticipantCoordinator } from '../../../src/client/participant.js';
import { ErrorCode } from '../../../src/common/errors.js';
import { SimPrng } from '../../sim/prng.js';
import type { TxnHistory, TxnObservation, TxnSnapshot } from '../checker/atomicity.js';
import { sleep } from '../cluster.js';

const PARTICIPANTS = ['p0', 'p1', 'p2', 'p3'];

function shuffled<T>(items: readonly T[], rng: SimPrng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A record as the checker compares it. */
export function snapshotOf(r: TxnRecord): TxnSnapshot {
  return {
    txnId: r.txnId,
    state: r.state,
    participants: r.participants,
    votes: r.votes,
    acks: r.acks,
    decidedAtRevision: r.decidedAtRevision,
  };
}

/** What the transaction workload recorded. */
export class TxnRecorder {
  readonly begun: string[] = [];
  readonly ackedVotes: TxnHistory['ackedVotes'][number][] = [];
  readonly ackedAcks: TxnHistory['ackedAcks'][number][] = [];
  readonly aborts: TxnHistory['aborts'][number][] = [];
  readonly applied: TxnHistory['applied'][number][] = [];
  readonly observations: TxnObservation[] = [];
  failures = 0;

  /** Records a record someone saw; returns it. */
  observe(r: TxnRecord, source: string): TxnRecord {
    this.observations.push({ ...snapshotOf(r), source, atMs: performance.now() });
    return r;
  }

  /** The history for the checker, with the records re-read at the end. */
  history(final: readonly TxnSnapshot[]): TxnHistory {
    return { ...this, final };
  }
}

/** A coordinator whose answers are recorded, for a Participant. */
function recording(c: Coordinator, rec: TxnRecorder, who: string): ParticipantCoordinator {
  return {
    get: async (id, o) => rec.observe(await c.get(id, o), `${who}:get`),
    vote: async (id, p, v, o) => {
      const r = rec.observe(await c.vote(id, p, v, o), `${who}:vote`);
      if (r.votes[p] === v) rec.ackedVotes.push({ txnId: id, participant: p, vote: v });
      return r;
    },
    ack: async (id, p, o) => {
      const r = rec.observe(await c.ack(id, p, o), `${who}:ack`);
      rec.ackedAcks.push({ txnId: id, participant: p });
      return r;
    },
    list: async (o) => {
      const r = await c.list(o);
      for (const x of r.records) rec.observe(x, `${who}:list`);
      return r;
    },
    watch: (o) => c.watch(o),
    awaitDecision: async (id, o) => rec.observe(await c.awaitDecision(id, o), `${who}:await`),
  };
}

/** How the transaction workload runs. */
export interface TxnWorkloadOptions {
  readonly clients: readonly Client[];
  readonly coordinators: number;
  readonly seed: number;
}

/** Runs the coordinators until shouldStop(), then waits (bounded) for the transactions in flight. */
export async function runTxnWorkload(
  opts: TxnWorkloadOptions,
  rec: TxnRecorder,
  shouldStop: () => boolean,
): Promise<void> {
  const root = new SimPrng(opts.seed ^ 0x2bc);
  const prepareRng = root.fork();
  const participants = new Map(
    PARTICIPANTS.map((name, i) => {
      const client = opts.clients[i % opts.clients.length]!;
      const p = new Participant(recording(client.coordinator, rec, name), name, {
        prepare: () => (prepareRng.chance(0.8) ? 'YES' : { vote: 'NO', reason: 'chaos' }),
        commit: (txnId) => void rec.applied.push({ txnId, participant: name, decision: 'COMMIT' }),
        abort: (txnId) => void rec.applied.push({ txnId, participant: name, decision: 'ABORT' }),
      });
      return [name, p] as const;
    }),
  );
  const giveUp = new AbortController();
  const coordinator = async (n: number): Promise<void> => {
    const rng = root.fork();
    const coord = opts.clients[(n + 1) % opts.clients.length]!.coordinator;
    for (let seq = 0; !shouldStop(); seq++) {
      const txnId = `chaos-${opts.seed}-c${n}-${seq}`;
      const names = shuffled(PARTICIPANTS, rng).slice(0, 2 + rng.nextInt(2));
      try {
        rec.observe(
          (await coord.begin(txnId, names, { timeoutMs: 3000 + rng.nextInt(2000) })).record,
          'begin',
        );
        rec.begun.push(txnId);
      } catch {
        rec.failures++;
        await sleep(100);
        continue;
      }
      // A participant that never shows up: the deadline decides.
      const absent = rng.chance(0.1) ? names[0] : undefined;
      const runs = names
        .filter((p) => p !== absent)
        .map((p) => participants.get(p)!.run(txnId, { signal: giveUp.signal }));
      // Settled at once: a run failing while the coordinator aborts is not an unhandled rejection.
      const settled = Promise.allSettled(runs);
      if (rng.chance(0.1)) {
        await sleep(rng.nextInt(50));
        try {
          rec.observe(await coord.abort(txnId, 'coordinator gave up'), 'abort');
          rec.aborts.push({ txnId, outcome: 'aborted' });
        } catch (err) {
          if (isClientError(err, ErrorCode.TXN_ALREADY_DECIDED))
            rec.aborts.push({ txnId, outcome: 'already-committed' });
          else rec.failures++;
        }
      }
      for (const r of await settled) if (r.status === 'rejected') rec.failures++;
      await sleep(rng.nextInt(30));
    }
  };
  const all = Promise.all(Array.from({ length: opts.coordinators }, (_, n) => coordinator(n)));
  // After the stop, transactions in flight get a little time to finish, then are abandoned.
  while (!shouldStop()) await sleep(100);
  const timer = setTimeout(() => giveUp.abort(), 8000);
  try {
    await all;
  } finally {
    clearTimeout(timer);
  }
}

/** Records decisions as a stream over every record delivers them; returns a stop function. */
export async function watchDecisions(client: Client, rec: TxnRecorder): Promise<() => void> {
  const { revision } = await client.coordinator.list({ limit: 1 });
  const watch = client.coordinator.watch({ fromRevision: revision + 1 });
  void (async () => {
    try {
      for await (const d of watch) rec.observe(d.record, 'decision-watch');
    } catch {
      // The stream failed for good; what it saw is recorded.
    }
  })();
  return () => watch.close();
}
