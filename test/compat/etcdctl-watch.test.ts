/**
 * Proves `etcdctl watch` 3.4 works against a real three-member Cairn cluster: a plain watch,
 * --prefix, --rev N (history replay joined to live writes) and --prev-kv each print exactly
 * the expected events, in revision order, nothing more. etcdctl runs as a child process
 * with -w json (one line per response), writes go through the etcd3 client, and every
 * watch process is killed at the end. A watch "from now" is shown ready by a marker write
 * it must print before the real writes start. Skipped, saying so, where etcdctl is absent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TestCluster } from '../support/cluster.js';
import { eventually as retry } from '../support/eventually.js';

const ETCDCTL = '/usr/bin/etcdctl';
const hasEtcdctl = existsSync(ETCDCTL);
if (!hasEtcdctl) console.warn('etcdctl watch tests skipped: install Debian etcd-client');

let cluster: TestCluster;
let client: Etcd3;
const children: ChildProcess[] = [];

/** One event as etcdctl -w json prints it, reduced to what the tests compare. */
interface SeenEvent {
  type: 'PUT' | 'DELETE';
  key: string;
  value: string;
  modRevision: number;
  prev?: string;
}

interface JsonKv {
  key?: string;
  value?: string;
  mod_revision?: number;
}

const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();

/** A running `etcdctl watch`, its events as they are printed. */
class EtcdctlWatch {
  readonly events: SeenEvent[] = [];
  private buffered = '';
  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      this.buffered += chunk;
      const lines = this.buffered.split('\n');
      this.buffered = lines.pop() ?? '';
      for (const line of lines.filter((l) => l.trim().startsWith('{'))) this.take(JSON.parse(line));
    });
    child.stderr?.resume();
  }
  private take(resp: { Events?: { type?: number | string; kv?: JsonKv; prev_kv?: JsonKv }[] }): void {
    for (const ev of resp.Events ?? []) {
      const seen: SeenEvent = {
        type: ev.type === 1 || ev.type === 'DELETE' ? 'DELETE' : 'PUT',
        key: b64(ev.kv?.key),
        value: b64(ev.kv?.value),
        modRevision: Number(ev.kv?.mod_revision ?? 0),
      };
      if (ev.prev_kv) seen.prev = b64(ev.prev_kv.value);
      this.events.push(seen);
    }
  }
  /** Waits until n events were printed (or fails after the deadline). */
  async waitFor(n: number, deadlineMs = 15_000): Promise<SeenEvent[]> {
    return this.waitUntil((events) => events.length >= n, n, deadlineMs);
  }
  /** Waits until done(events) holds (or fails after the deadline). */
  async waitUntil(
    done: (events: SeenEvent[]) => boolean,
    n: number,
    deadlineMs = 15_000,
  ): Promise<SeenEvent[]> {
    const until = Date.now() + deadlineMs;
    while (!done(this.events)) {
      if (Date.now() > until)
        throw new Error(`saw ${this.events.length} of ${n} events: ${JSON.stringify(this.events)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.events;
  }
}

function etcdctlWatch(args: string[]): EtcdctlWatch {
  const endpoints = cluster.topology.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
  const child = spawn(ETCDCTL, [`--endpoints=${endpoints}`, 'watch', '-w', 'json', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new EtcdctlWatch(child);
}

async function put(key: string, value: string): Promise<number> {
  const r = await client.put(key).value(value).exec();
  return Number(r.header.revision);
}

/** Writes a marker under key until the watch prints it: from then on the watch is live. */
async function untilLive(w: EtcdctlWatch, key: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    await put(key, 'marker');
    const until = Date.now() + 300;
    while (Date.now() < until) {
      if (w.events.some((e) => e.value === 'marker')) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error('the watch never printed its marker');
}

/** The events after the markers (markers all come first: real writes start after the last one). */
function afterMarkers(events: SeenEvent[]): SeenEvent[] {
  const last = events.map((e) => e.value).lastIndexOf('marker');
  expect(events.slice(0, last + 1).every((e) => e.value === 'marker')).toBe(true);
  return events.slice(last + 1);
}

describe.skipIf(!hasEtcdctl)('etcdctl watch against a Cairn cluster', () => {
  beforeAll(async () => {
    cluster = await TestCluster.start();
    client = cluster.client();
    await retry(() => client.put('ready').value('1').exec());
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    client?.close();
    await cluster?.stop();
  }, 60_000);

  test('a plain watch prints the puts and the delete of its key, and nothing of other keys', async () => {
    const w = etcdctlWatch(['plain/k']);
    await untilLive(w, 'plain/k');
    const r1 = await put('plain/k', 'one');
    await put('plain/other', 'x');
    const r2 = await put('plain/k', 'two');
    const r3 = Number((await client.delete().key('plain/k').exec()).header.revision);
    const seen = afterMarkers(await w.waitUntil((evs) => afterMarkers(evs).length >= 3, 3));
    await new Promise((r) => setTimeout(r, 300)); // nothing more may come
    expect(afterMarkers(w.events)).toEqual(seen);
    expect(seen).toEqual([
      { type: 'PUT', key: 'plain/k', value: 'one', modRevision: r1 },
      { type: 'PUT', key: 'plain/k', value: 'two', modRevision: r2 },
      { type: 'DELETE', key: 'plain/k', value: '', modRevision: r3 },
    ]);
  });

  test('--prefix prints every key under the prefix, in revision order', async () => {
    const w = etcdctlWatch(['--prefix', 'pre/']);
    await untilLive(w, 'pre/marker');
    const revs: number[] = [];
    for (const k of ['pre/a', 'pref', 'pre/b', 'pre/a']) revs.push(await put(k, `v-${k}`));
    const seen = afterMarkers(await w.waitUntil((evs) => afterMarkers(evs).length >= 3, 3));
    await new Promise((r) => setTimeout(r, 300)); // nothing more may come
    expect(afterMarkers(w.events)).toEqual(seen);
    expect(seen.map((e) => [e.key, e.modRevision])).toEqual([
      ['pre/a', revs[0]],
      ['pre/b', revs[2]],
      ['pre/a', revs[3]],
    ]);
  });

  test('--rev N replays history from N and goes on with live writes, with --prev-kv', async () => {
    const first = await put('hist/k', 'a');
    await put('hist/k', 'b');
    await client.delete().key('hist/k').exec();
    await put('hist/k', 'c');
    const w = etcdctlWatch(['--rev', String(first + 1), '--prev-kv', 'hist/k']);
    await w.waitFor(3);
    const live = await put('hist/k', 'd');
    const seen = await w.waitFor(4);
    await new Promise((r) => setTimeout(r, 300)); // nothing more may come
    expect(w.events).toHaveLength(4);
    expect(seen).toEqual([
      { type: 'PUT', key: 'hist/k', value: 'b', modRevision: first + 1, prev: 'a' },
      { type: 'DELETE', key: 'hist/k', value: '', modRevision: first + 2, prev: 'b' },
      { type: 'PUT', key: 'hist/k', value: 'c', modRevision: first + 3 },
      { type: 'PUT', key: 'hist/k', value: 'd', modRevision: live, prev: 'c' },
    ]);
  });

  test('--prefix --rev N replays the whole prefix from N', async () => {
    const r1 = await put('many/1', 'x');
    const r2 = await put('many/2', 'y');
    await put('other', 'z');
    const r3 = await put('many/1', 'w');
    const w = etcdctlWatch(['--prefix', '--rev', String(r1), 'many/']);
    const seen = await w.waitFor(3);
    await new Promise((r) => setTimeout(r, 300)); // nothing more may come
    expect(w.events).toHaveLength(3);
    expect(seen.map((e) => [e.key, e.value, e.modRevision])).toEqual([
      ['many/1', 'x', r1],
      ['many/2', 'y', r2],
      ['many/1', 'w', r3],
    ]);
  });
});
