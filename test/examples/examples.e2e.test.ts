/**
 * Proves the examples in examples/ run as documented: each is started as its own process
 * (compiled, or `node --import tsx examples/<name>.ts` as `npx tsx` would: test/support/entry.ts) against a real three-member
 * cluster through CAIRN_ENDPOINTS, and what it prints and leaves in the cluster is checked.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import { TestCluster } from '../support/cluster.js';
import { programArgs } from '../support/entry.js';

const run = promisify(execFile);
let cluster: TestCluster;
let client: Client;
const services: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start();
  await cluster.leaderName();
  client = new Client({ endpoints: cluster.endpoints() });
}, 90_000);

afterAll(async () => {
  for (const p of services) p.kill('SIGKILL');
  await client?.close();
  await cluster?.stop();
});

/** Runs an example to completion and answers its stdout. */
async function example(name: string, args: string[] = []): Promise<string> {
  const { stdout } = await run(process.execPath, [...programArgs(`examples/${name}.ts`), ...args], {
    env: { ...process.env, CAIRN_ENDPOINTS: cluster.endpoints().join(',') },
    timeout: 60_000,
  });
  return stdout;
}

describe('payment-worker', () => {
  it('serialises concurrent credits with increasing fencing tokens and loses none', async () => {
    const outputs = await Promise.all([1, 2, 3].map(() => example('payment-worker', ['acct-7', '100'])));
    const tokens = outputs.map((o) => Number(/fencing token (\d+)/.exec(o)?.[1]));
    expect(tokens.every((t) => t > 0)).toBe(true);
    expect(new Set(tokens).size).toBe(3);
    const befores = outputs.map((o) => Number(/: (\d+) -> /.exec(o)?.[1])).sort((a, b) => a - b);
    expect(befores).toEqual([0, 100, 200]);
    expect(await client.kv.getText('ledger/accounts/acct-7/balance')).toBe('300');
  }, 120_000);
});

describe('two-phase-transfer', () => {
  it('commits a covered transfer and aborts one the balance cannot cover, changing nothing', async () => {
    const ok = await example('two-phase-transfer', ['30']);
    expect(ok).toMatch(/: COMMIT; balances \{"bank-a\/alice":70,"bank-b\/bob":30\}/);
    const refused = await example('two-phase-transfer', ['500']);
    expect(refused).toMatch(/: ABORT; balances \{"bank-a\/alice":70,"bank-b\/bob":30\}/);
    const holds = await client.kv.get('examples/banks/', { prefix: true, keysOnly: true });
    expect(holds.kvs.map((kv) => kv.key.toString()).filter((k) => k.includes('/holds/'))).toEqual([]);
  }, 120_000);
});

/** Starts a long-running example; resolves once it printed a line matching `ready`. */
function startExample(
  name: string,
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [...programArgs(`examples/${name}.ts`), ...args], {
    env: { ...process.env, CAIRN_ENDPOINTS: cluster.endpoints().join(',') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  services.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) resolve({ child, output: () => out });
    });
    child.stderr?.resume();
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready: ${out}`)));
  });
}

describe('register-service and gateway', () => {
  it('routes the gateway over the registered instances, and off one that shut down', async () => {
    const one = await startExample('register-service', ['ledger-1'], /ledger-1 serving/);
    await startExample('register-service', ['ledger-2'], /ledger-2 serving/);
    const both = await example('gateway', ['40', 'round_robin']);
    const counts = JSON.parse(/: (\{.*\})/.exec(both)?.[1] ?? '{}') as Record<string, number>;
    expect(Object.keys(counts).sort()).toEqual(['ledger-1', 'ledger-2']);
    expect((counts['ledger-1'] ?? 0) + (counts['ledger-2'] ?? 0)).toBe(40);
    const exited = new Promise<number | null>((resolve) => one.child.once('exit', resolve));
    one.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(one.output()).toMatch(/ledger-1 deregistered/);
    const after = await example('gateway', ['20', 'least_connections']);
    expect(after).toMatch(/20 calls with least_connections: \{"ledger-2":20\}/);
  }, 120_000);
});
