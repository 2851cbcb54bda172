/**
 * Proves what cairnctl does for a person at a terminal: the real binary runs on a
 * pseudo-terminal (util-linux `script`) against a real three-member TestCluster. Tables come
 * with a bold header and coloured cells, and none with NO_COLOR, --no-color or -o json; `check
 * perf` draws its progress bar in place (from 0/N to N/N) before the summary; `txn` with no
 * file prompts for the compares and both branches and runs what was typed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCluster } from '../support/cluster.js';
import { cairnctl, cairnctlOnTerminal, canRunOnTerminal, clusterForCli } from './run-cli.js';

const ESC = '\u001b';
const BOLD = `${ESC}[1m`;
const GREEN = `${ESC}[32m`;

let cluster: TestCluster;
let env: Record<string, string>;

beforeAll(async () => {
  if (!canRunOnTerminal()) return;
  ({ cluster, env } = await clusterForCli());
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

function onTerminal(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  return cairnctlOnTerminal(['--command-timeout', '15s', ...args], {
    ...options,
    env: { ...env, ...options.env },
  });
}

describe.skipIf(!canRunOnTerminal())('cairnctl on a terminal', { timeout: 120_000 }, () => {
  it('colours tables on a terminal, and not with NO_COLOR, --no-color or -o json', async () => {
    const put = await onTerminal(['put', 'term/a', 'alpha']);
    expect(put.code).toBe(0);
    expect(put.stdout).toContain(`${GREEN}OK${ESC}[39m (revision `);
    const [coloured, noColorEnv, noColorFlag, json, piped] = await Promise.all([
      onTerminal(['get', 'term/', '--prefix']),
      onTerminal(['get', 'term/', '--prefix'], { env: { NO_COLOR: '1' } }),
      onTerminal(['get', 'term/', '--prefix', '--no-color']),
      onTerminal(['get', 'term/', '--prefix', '-o', 'json']),
      cairnctl(['get', 'term/', '--prefix'], { env: { ...env, NO_COLOR: '' } }),
    ]);
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toMatch(
      new RegExp(`${BOLD.replace('[', '\\[')}KEY +VALUE +VERSION +MOD_REV +LEASE${ESC}\\[22m`),
    );
    expect(coloured.stdout).toMatch(/term\/a +alpha +1 /);
    for (const plain of [noColorEnv, noColorFlag, json]) {
      expect(plain.code).toBe(0);
      expect(plain.stdout).not.toContain(ESC);
    }
    expect(noColorEnv.stdout).toMatch(/^KEY +VALUE/m);
    expect(JSON.parse(json.stdout.trim()).kvs[0]).toMatchObject({ key: 'term/a', value: 'alpha' });
    // Not a terminal (a pipe): no colour even without NO_COLOR.
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toContain(ESC);
  });

  it('check perf draws a progress bar from 0/N to N/N, then the summary', async () => {
    const r = await onTerminal([
      'check',
      'perf',
      '--total',
      '40',
      '--clients',
      '2',
      '--prefix',
      '/term-perf/',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\r\[\.{30}\] 0\/40 /);
    expect(r.stdout).toMatch(/\r\[#{30}\] 40\/40 /);
    const frames = [...r.stdout.matchAll(/\r\[[#.]{30}\] (\d+)\/40 /g)].map((m) => Number(m[1]));
    expect(frames).toEqual([...frames].sort((a, b) => a - b));
    const summary = r.stdout.slice(r.stdout.lastIndexOf('40/40'));
    expect(summary).toMatch(/40 puts from 2 clients in [\d.]+ s: /);
    expect(summary).toMatch(/latency p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms/);
    // Piped (-o json or not a terminal): no bar.
    const piped = await cairnctl(
      ['check', 'perf', '--total', '5', '--clients', '1', '--prefix', '/term-perf/'],
      {
        env,
      },
    );
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toMatch(/\[[#.]{30}\]/);
  });

  it('txn prompts for compares, success and failure requests, and runs what was typed', async () => {
    await onTerminal(['put', 'term/tx', 'v1']);
    const typed = 'value("term/tx") = "v1"\n\nput term/tx v2\n\nput term/tx lost\n\n';
    const r = await onTerminal(['txn'], { stdin: typed });
    expect(r.code).toBe(0);
    const out = r.stdout.replaceAll('\r\n', '\n');
    expect(out).toContain('compares:');
    expect(out).toContain('success requests (get, put, del):');
    expect(out).toContain('failure requests (get, put, del):');
    expect(out).toContain(`${GREEN}SUCCESS${ESC}[39m`);
    expect(out).toMatch(/put: OK/);
    const got = await cairnctl(['get', 'term/tx', '-o', 'json'], { env });
    expect(JSON.parse(got.stdout).kvs[0].value).toBe('v2');
  });
});
