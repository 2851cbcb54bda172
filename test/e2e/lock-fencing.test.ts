/**
 * Proves that LockService's fencing tokens keep a protected resource safe on a real
 * three-member cluster while its leader is SIGKILLed: five contenders (each with its own
 * lease, kept alive with KeepAlive) take one lock in turn through different members, with
 * random pauses, and write three times per turn to an in-test resource that refuses a token
 * lower than the highest it has seen. Calls that fail because a member died or the leader
 * changed are repeated on another member with the same lease (Acquire then finds its own key
 * in line). Checked afterwards: the resource never refused a holder, its accepted writes are
 * in token order with each holder's three writes together (no interleaving), every turn had a
 * larger token than the one before (the fence moved at least once per contender), no two
 * contenders believed they held the lock at once, and turns completed after the kill.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { lockServiceClient } from '../support/cairn-lock.js';
import { TestCluster } from '../support/cluster.js';
import { type CallError, type EtcdGrpc, etcdGrpc, retry, unary, type Wire } from '../support/etcd-grpc.js';

const CONTENDERS = 5;
const ROUNDS = 3;
const WRITES_PER_TURN = 3;
/** The leader is killed once this many turns have begun. */
const KILL_AFTER_TURNS = 6;
const LEASE_TTL_SECONDS = 10;
const KEEPALIVE_INTERVAL_MS = 1_000;
/** Codes a call may fail with because a member died or the leader changed: repeated elsewhere. */
const RETRIED = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.INTERNAL,
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
]);

let cluster: TestCluster;
let members: EtcdGrpc[] = [];
let locks: grpc.Client[] = [];

/** One write to the protected resource. */
interface Write {
  readonly token: number;
  readonly contender: number;
  readonly round: number;
  readonly step: number;
}

/** A resource guarded by fencing tokens: it refuses a token lower than the highest it has accepted. */
class FencedResource {
  private highest = 0;
  readonly accepted: Write[] = [];
  readonly rejected: Write[] = [];

  write(w: Write): boolean {
    if (w.token < this.highest) {
      this.rejected.push(w);
      return false;
    }
    this.highest = w.token;
    this.accepted.push(w);
    return true;
  }
}

function pause(maxMs: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.floor(Math.random() * maxMs)));
}

/** Calls a LockService method on some member, moving to the next one while calls fail for a dead member or a leader change. */
async function onAnyMember(start: number, method: string, request: Wire): Promise<Wire> {
  const end = Date.now() + 60_000;
  for (let i = start; ; i++) {
    try {
      return await unary(locks[i % locks.length]!, method, request);
    } catch (err) {
      const code = (err as CallError).code;
      if (!RETRIED.has(code) || Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

beforeAll(async () => {
  cluster = await TestCluster.start();
  members = cluster.topology.members.map((m) => etcdGrpc(m.clientUrl));
  locks = cluster.topology.members.map((m) => lockServiceClient(m.clientUrl));
  for (const m of members)
    await retry(() => unary(m.kv, 'Put', { key: Buffer.from('ready'), value: Buffer.from('1') }), 45_000);
}, 60_000);

afterAll(async () => {
  for (const c of locks) c.close();
  for (const m of members) m.close();
  await cluster?.stop();
}, 60_000);

test('five contenders, random pauses, a leader SIGKILL: the fenced resource never refuses a holder and never sees two at once', async () => {
  const name = Buffer.from('locks/fenced-ledger');
  const resource = new FencedResource();
  const leasesLost: number[] = [];
  let turnsBegun = 0;
  let inside = 0;
  let mostInside = 0;
  let writesBeforeKill = -1;
  let startKill: () => void = () => {};
  const killNow = new Promise<void>((r) => {
    startKill = r;
  });
  const killer = killNow.then(async () => {
    const leader = await cluster.leaderName();
    await cluster.kill(leader, 'SIGKILL');
    writesBeforeKill = resource.accepted.length;
  });

  const contender = async (i: number): Promise<void> => {
    const lease = Number(
      (
        await retry(() =>
          unary(members[i % members.length]!.lease, 'LeaseGrant', { TTL: LEASE_TTL_SECONDS, ID: 0 }),
        )
      ).ID,
    );
    let running = true;
    const keepAlive = (async () => {
      for (let k = i; running; k++) {
        await new Promise((r) => setTimeout(r, KEEPALIVE_INTERVAL_MS));
        try {
          const r = await unary(locks[k % locks.length]!, 'KeepAlive', { lease });
          if (r.ttl_seconds === 0) leasesLost.push(i);
        } catch {
          // A dead member or an election: the next beat goes to another member.
        }
      }
    })();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await pause(50);
        const held = await onAnyMember(i, 'Acquire', { name, lease, owner: `contender-${i} round-${round}` });
        inside++;
        mostInside = Math.max(mostInside, inside);
        if (++turnsBegun === KILL_AFTER_TURNS) startKill();
        for (let step = 0; step < WRITES_PER_TURN; step++) {
          resource.write({ token: held.fencing_token, contender: i, round, step });
          await pause(40);
        }
        inside--;
        await onAnyMember(i, 'Release', { key: held.key, fencing_token: held.fencing_token });
      }
    } finally {
      running = false;
      await keepAlive;
    }
  };

  await Promise.all(Array.from({ length: CONTENDERS }, (_, i) => contender(i)));
  await killer;

  expect(leasesLost).toEqual([]);
  expect(resource.rejected).toEqual([]);
  expect(mostInside).toBe(1);
  // Accepted writes in token order, each turn's writes together and complete.
  const tokens = resource.accepted.map((w) => w.token);
  expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
  const turns: Write[][] = [];
  for (const w of resource.accepted) {
    const last = turns.at(-1);
    if (last && last[0]!.token === w.token) last.push(w);
    else turns.push([w]);
  }
  expect(turns).toHaveLength(CONTENDERS * ROUNDS);
  for (const turn of turns) {
    expect(turn.map((w) => w.step)).toEqual([0, 1, 2]);
    expect(new Set(turn.map((w) => `${w.contender}/${w.round}`)).size).toBe(1);
  }
  // The fence moved with every new holder: at least once per contender.
  let increases = 0;
  for (let k = 1; k < turns.length; k++) if (turns[k]![0]!.token > turns[k - 1]![0]!.token) increases++;
  expect(increases).toBe(turns.length - 1);
  expect(increases).toBeGreaterThanOrEqual(CONTENDERS);
  // The leader died midway: turns were taken before and after.
  expect(writesBeforeKill).toBeGreaterThan(0);
  expect(writesBeforeKill).toBeLessThan(resource.accepted.length);
  // Every key is gone: nobody holds or waits.
  const d = await onAnyMember(0, 'Describe', { name });
  expect(d.held).toBe(false);
}, 120_000);
