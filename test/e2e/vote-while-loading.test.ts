/**
 * Proves on real processes that a member votes and replicates while it loads its store:
 * with one member of three down, a member restarting on its data and held in its load
 * (CAIRN_FAULT_LOAD_HOLD_FILE) lets the third commit a write before it serves clients, and
 * once its load ends it serves that write.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, expect, test } from 'vitest';
import { LOAD_HOLD_FILE_ENV } from '../../src/node/fault-hooks.js';
import { TestCluster } from '../support/cluster.js';
import { eventually as retry } from '../support/eventually.js';

let cluster: TestCluster | undefined;
const clients: Etcd3[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
}, 60_000);

test('a restarting member still loading makes the quorum for a write, then serves it once loaded', async () => {
  const c = await TestCluster.start();
  cluster = c;
  const client = (name: string): Etcd3 => {
    const e = c.client([name]);
    clients.push(e);
    return e;
  };
  const [a, b, loading] = c.topology.members.map((m) => m.name) as [string, string, string];
  await retry(() => client(a).put('before').value('1').exec());
  await c.kill(b);
  await c.kill(loading);
  const hold = join(c.topology.rootDir, 'load-hold');
  writeFileSync(hold, '1');
  c.startMember(c.member(loading), { [LOAD_HOLD_FILE_ENV]: hold });
  // Member a alone is no quorum: the write commits only with the loading member's vote and ack.
  await retry(() => client(a).put('while-loading').value('yes').exec(), 60_000);
  const meanwhile = c.linesSinceStart(loading).join('\n');
  expect(meanwhile).toContain('"msg":"node started"');
  expect(meanwhile).not.toContain('"msg":"state loaded"');
  expect(meanwhile).not.toContain('"msg":"serving"');
  writeFileSync(hold, '0');
  await retry(async () => expect(await client(loading).get('while-loading').string()).toBe('yes'), 60_000);
  const after = c.linesSinceStart(loading).join('\n');
  expect(after).toContain('"msg":"state loaded"');
  expect(after).toContain('"msg":"serving"');
}, 120_000);
