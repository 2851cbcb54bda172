/**
 * Proves the examples connect to `npm start`'s cluster when CAIRN_ENDPOINTS is not set: the
 * SDK's DEFAULT_ENDPOINTS are exactly the client URLs of cluster/'s default topology (the one
 * `npm start` runs), a Client given no endpoints uses them, exampleEndpoints() falls back to
 * them, and every runnable example makes its
 * Client from exampleEndpoints(). (The e2e test runs the examples against a TestCluster on free
 * ports through CAIRN_ENDPOINTS: tests must never use the default ports.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { localTopology } from '../../cluster/topology.js';
import { exampleEndpoints } from '../../examples/endpoints.js';
import { Client, DEFAULT_ENDPOINTS } from '../../src/client/index.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const saved = process.env.CAIRN_ENDPOINTS;

afterEach(() => {
  if (saved === undefined) delete process.env.CAIRN_ENDPOINTS;
  else process.env.CAIRN_ENDPOINTS = saved;
});

describe('where the examples connect', () => {
  it("DEFAULT_ENDPOINTS are the client addresses of npm start's cluster", () => {
    const started = localTopology('/unused').members.map((m) => new URL(m.clientUrl).host);
    expect([...DEFAULT_ENDPOINTS]).toEqual(started);
  });

  it('a Client given no endpoints uses DEFAULT_ENDPOINTS (it connects lazily: nothing is dialled here)', async () => {
    const c = new Client();
    try {
      expect(c.connection.endpoints.map((e) => e.address)).toEqual([...DEFAULT_ENDPOINTS]);
    } finally {
      await c.close();
    }
  });

  it('exampleEndpoints() is CAIRN_ENDPOINTS when set, else DEFAULT_ENDPOINTS', () => {
    delete process.env.CAIRN_ENDPOINTS;
    expect(exampleEndpoints()).toEqual([...DEFAULT_ENDPOINTS]);
    process.env.CAIRN_ENDPOINTS = '127.0.0.1:1, 127.0.0.1:2';
    expect(exampleEndpoints()).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
  });

  it('every runnable example makes its Client from exampleEndpoints()', () => {
    const runnable = readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => ({ f, src: readFileSync(`${EXAMPLES}${f}`, 'utf8') }))
      .filter(({ src }) => /isMain\(import\.meta\.url\)/.test(src));
    expect(runnable.map(({ f }) => f).sort()).toEqual([
      'gateway.ts',
      'payment-worker.ts',
      'register-service.ts',
      'two-phase-transfer.ts',
    ]);
    for (const { f, src } of runnable) {
      const clients = [...src.matchAll(/new \w*Client\(\{([^}]*)\}/g)].map((m) => m[1]);
      expect(clients.length, f).toBeGreaterThan(0);
      for (const options of clients) expect(options, f).toContain('endpoints: exampleEndpoints()');
    }
  });
});
