/**
 * Proves the peer-dial fault hook is off unless CAIRN_FAULT_PEER_DIAL is set, and when set
 * redirects exactly the listed peer URLs; each case loads the module afresh with the
 * environment it needs.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

const ENV = 'CAIRN_FAULT_PEER_DIAL';

async function load(): Promise<typeof import('../../src/transport/dial-redirect.js')> {
  vi.resetModules();
  return import('../../src/transport/dial-redirect.js');
}

describe('peerDialUrl', () => {
  afterEach(() => {
    delete process.env[ENV];
  });

  it('dials every peer at its own URL when the variable is unset', async () => {
    delete process.env[ENV];
    const { peerDialUrl } = await load();
    expect(peerDialUrl('http://127.0.0.1:4001')).toBe('http://127.0.0.1:4001');
  });

  it('redirects the listed URLs and only those', async () => {
    process.env[ENV] = JSON.stringify({ 'http://127.0.0.1:4001': 'http://127.0.0.1:5001' });
    const { peerDialUrl, PEER_DIAL_ENV } = await load();
    expect(PEER_DIAL_ENV).toBe(ENV);
    expect(peerDialUrl('http://127.0.0.1:4001')).toBe('http://127.0.0.1:5001');
    expect(peerDialUrl('http://127.0.0.1:4002')).toBe('http://127.0.0.1:4002');
  });
});
