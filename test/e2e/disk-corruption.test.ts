/**
 * Proves that a member whose data folder was damaged while it was down either recovers
 * (from its own data or from its peers, ending with the same HashKV and the same keys as
 * the others) or refuses to start with a clear message naming the folder and a non-zero
 * exit — never serves data that differs from the cluster's. One real three-member cluster
 * holds known data (part in LevelDB tables, part in its write-ahead log); for each case the
 * victim is stopped, its folder backed up and damaged (bytes flipped, files truncated or
 * deleted, the whole folder deleted), started again and judged, then restored from the
 * backup before the next case.
 */
import type { ChildProcess } from 'node:child_process';
import {
  cpSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnMember } from '../../cluster/processes.js';
import type { LocalMember } from '../../cluster/topology.js';
import { call, type MemberClients, memberClients, retry } from '../fuzz/probe.js';
import { SimPrng } from '../sim/prng.js';
import { TestCluster } from '../support/cluster.js';
import { TEST_ENTRY } from '../support/entry.js';

const FLAGS = ['--heartbeat-interval=50', '--election-timeout=500'];
/** How long a restarted member gets to either catch up or exit. */
const VERDICT_MS = 20_000;

type Verdict =
  | { kind: 'recovered' }
  | { kind: 'refused'; exitCode: number | null; stderr: string }
  | { kind: 'diverged'; detail: string }
  | { kind: 'stuck'; detail: string; stderr: string };

/** A damage to the stopped victim's LevelDB folder. */
interface Damage {
  readonly name: string;
  /** Applies the damage; false if the folder had nothing to damage (the case is then skipped). */
  apply(dir: string, prng: SimPrng): boolean;
}

function filesOf(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => join(dir, f));
}

function flipBytes(file: string, prng: SimPrng, count: number): void {
  const b = readFileSync(file);
  if (b.length === 0) return;
  for (let i = 0; i < count; i++) {
    const at = prng.nextInt(b.length);
    b[at] = (b[at] ?? 0) ^ (1 + prng.nextInt(255));
  }
  writeFileSync(file, b);
}

const TABLES = /\.ldb$/;
const WAL = /\.log$/;
const MANIFEST = /^MANIFEST-/;
const CURRENT = /^CURRENT$/;

function eachFile(pattern: RegExp, act: (file: string, prng: SimPrng) => void): Damage['apply'] {
  return (dir, prng) => {
    const files = filesOf(dir, pattern).filter((f) => statSync(f).size > 0);
    for (const f of files) act(f, prng);
    return files.length > 0;
  };
}

const DAMAGES: readonly Damage[] = [
  { name: 'bytes flipped in every table (.ldb)', apply: eachFile(TABLES, (f, p) => flipBytes(f, p, 8)) },
  {
    name: 'tables (.ldb) truncated to half',
    apply: eachFile(TABLES, (f) => truncateSync(f, Math.floor(statSync(f).size / 2))),
  },
  { name: 'bytes flipped in the write-ahead log (.log)', apply: eachFile(WAL, (f, p) => flipBytes(f, p, 8)) },
  {
    name: 'write-ahead log (.log) truncated to half',
    apply: eachFile(WAL, (f) => truncateSync(f, Math.floor(statSync(f).size / 2))),
  },
  { name: 'bytes flipped in MANIFEST', apply: eachFile(MANIFEST, (f, p) => flipBytes(f, p, 4)) },
  {
    name: 'MANIFEST truncated to half',
    apply: eachFile(MANIFEST, (f) => truncateSync(f, Math.floor(statSync(f).size / 2))),
  },
  {
    name: 'CURRENT names a missing manifest',
    apply: eachFile(CURRENT, (f) => writeFileSync(f, 'MANIFEST-999999\n')),
  },
  { name: 'CURRENT emptied', apply: eachFile(CURRENT, (f) => truncateSync(f, 0)) },
  { name: 'tables (.ldb) deleted', apply: eachFile(TABLES, (f) => unlinkSync(f)) },
  { name: 'write-ahead log (.log) deleted', apply: eachFile(WAL, (f) => unlinkSync(f)) },
  { name: 'MANIFEST deleted', apply: eachFile(MANIFEST, (f) => unlinkSync(f)) },
  { name: 'CURRENT deleted', apply: eachFile(CURRENT, (f) => unlinkSync(f)) },
  {
    name: 'the whole data folder deleted',
    apply: (dir) => {
      rmSync(dir, { recursive: true, force: true });
      return true;
    },
  },
];

describe('a member with a damaged data folder', () => {
  let cluster: TestCluster;
  let victim: LocalMember;
  let others: MemberClients[] = [];
  let victimClient: MemberClients;
  const backup = (): string => join(cluster.topology.rootDir, 'victim-backup');
  const levelDir = (): string => join(victim.dataDir, 'data');

  /** A put through a healthy member. */
  const put = (key: string, value: string): Promise<unknown> =>
    retry(() => call(others[0]!.kv, 'Put', { key: Buffer.from(key), value: Buffer.from(value) }));

  beforeAll(async () => {
    cluster = await TestCluster.start(FLAGS);
    await cluster.leaderName();
    const names = cluster.topology.members.map((m) => m.name);
    victim = cluster.member(names[2]!);
    others = cluster.endpoints(names.slice(0, 2)).map(memberClients);
    victimClient = memberClients(cluster.endpoints([victim.name])[0]!);
    // Known data: 300 keys, some overwritten and deleted; flushed into tables by a
    // defragment on the victim, then more writes that stay in its write-ahead log.
    for (let i = 0; i < 300; i++) await put(`data/${i}`, `value-${i}-${'x'.repeat(100)}`);
    for (let i = 0; i < 300; i += 7) await put(`data/${i}`, `second-${i}`);
    await retry(() =>
      call(others[0]!.kv, 'DeleteRange', { key: Buffer.from('data/1'), range_end: Buffer.from('data/2') }),
    );
    await retry(() => call(victimClient.maintenance, 'Defragment', {}, 20_000));
    for (let i = 0; i < 50; i++) await put(`wal/${i}`, `after-defrag-${i}`);
    await caughtUp(victimClient);
    await cluster.kill(victim.name, 'SIGTERM');
    cpSync(levelDir(), backup(), { recursive: true });
  }, 120_000);

  afterAll(async () => {
    for (const c of [...others, victimClient]) c?.close();
    await cluster?.stop();
  });

  /** The healthy members' current revision and HashKV there. */
  async function clusterHash(): Promise<{ revision: number; hash: number }> {
    const s = await retry(() =>
      call<{ header: { revision: number } }>(others[0]!.kv, 'Range', { key: Buffer.from('data/0') }),
    );
    const h = await call<{ hash: number }>(others[0]!.maintenance, 'HashKV', { revision: s.header.revision });
    const h2 = await retry(() =>
      call<{ hash: number }>(others[1]!.maintenance, 'HashKV', { revision: s.header.revision }),
    );
    expect(h2.hash).toBe(h.hash);
    return { revision: s.header.revision, hash: h.hash };
  }

  /** Waits until a member has applied the cluster's current revision and hashes the same. */
  async function caughtUp(m: MemberClients, forMs = VERDICT_MS): Promise<string | undefined> {
    const target = await clusterHash();
    const until = Date.now() + forMs;
    let last = 'no answer';
    while (Date.now() < until) {
      try {
        const r = await call<{ header: { revision: number } }>(
          m.kv,
          'Range',
          { key: Buffer.from('data/0'), serializable: true },
          2000,
        );
        if (r.header.revision >= target.revision) {
          const h = await call<{ hash: number }>(
            m.maintenance,
            'HashKV',
            { revision: target.revision },
            2000,
          );
          if (h.hash === target.hash) return undefined;
          last = `HashKV at ${target.revision} is ${h.hash}, the cluster's is ${target.hash}`;
        } else last = `at revision ${r.header.revision} of ${target.revision}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return last;
  }

  function startVictim(): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
    const child = spawnMember(cluster.topology, victim, {
      entry: TEST_ENTRY,
      detached: false,
      extraFlags: FLAGS,
    });
    cluster.processes.set(victim.name, child);
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, stderr: () => err, exited };
  }

  async function verdict(): Promise<Verdict> {
    const started = startVictim();
    let exitCode: number | null | undefined;
    void started.exited.then((c) => {
      exitCode = c;
    });
    const notCaughtUp = await Promise.race([caughtUp(victimClient), started.exited.then(() => 'exited')]);
    if (exitCode !== undefined || notCaughtUp === 'exited') {
      cluster.processes.delete(victim.name);
      return { kind: 'refused', exitCode: exitCode ?? null, stderr: started.stderr() };
    }
    if (notCaughtUp === undefined) {
      // Serving the same keys as the others, not only the same hash.
      const all = { key: Buffer.from([0]), range_end: Buffer.from([0]), serializable: true };
      const mine = await call<{ kvs: unknown[] }>(victimClient.kv, 'Range', all);
      const theirs = await call<{ kvs: unknown[] }>(others[0]!.kv, 'Range', all);
      if (JSON.stringify(mine.kvs) !== JSON.stringify(theirs.kvs))
        return { kind: 'diverged', detail: 'keys differ' };
      return { kind: 'recovered' };
    }
    if (/HashKV/.test(notCaughtUp)) return { kind: 'diverged', detail: notCaughtUp };
    return { kind: 'stuck', detail: notCaughtUp, stderr: started.stderr() };
  }

  for (const [i, damage] of DAMAGES.entries()) {
    it(`${damage.name}: recovers to the cluster's data or refuses clearly`, async () => {
      rmSync(levelDir(), { recursive: true, force: true });
      cpSync(backup(), levelDir(), { recursive: true });
      const applied = damage.apply(levelDir(), new SimPrng(1000 + i));
      if (!applied) {
        console.warn(`disk-corruption: nothing to damage for "${damage.name}"`);
        return;
      }
      await put(`during/${i}`, 'written while the victim was down');
      const v = await verdict();
      console.log(
        `disk-corruption: ${damage.name}: ${v.kind} ${'detail' in v ? v.detail : ''} ${
          'stderr' in v
            ? v.stderr
                .split('\n')
                .filter((l) => l.startsWith('cairn:'))
                .join(' / ')
            : ''
        }`,
      );
      await cluster.kill(victim.name, 'SIGTERM');
      expect(v.kind === 'recovered' || v.kind === 'refused', JSON.stringify(v).slice(0, 3000)).toBe(true);
      if (v.kind === 'refused') {
        expect(v.exitCode).not.toBe(0);
        const line = v.stderr.split('\n').find((l) => /^cairn: (cannot start|stopped):/.test(l)) ?? '';
        expect(line, v.stderr.slice(-3000)).toContain(levelDir());
        expect(v.stderr).not.toMatch(/^\s+at /m); // a message, not a stack trace
      }
    }, 60_000);
  }
});
