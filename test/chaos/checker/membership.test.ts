/**
 * Proves the membership-convergence checker accepts a hand-written good history and rejects
 * each bad one with a message naming the violation: a subscriber's final view that differs
 * from the registry (missing, extra, other state), a registry that differs from what the
 * registrars hold, a view that went back in revision, and an instance state nobody asked for.
 */
import { describe, expect, it } from 'vitest';
import { checkMembership, type InstanceView, type MembershipHistory } from './membership.js';

const i = (id: string, state = 'SERVING'): InstanceView => ({ id, state, address: `h:${id}` });
const good: MembershipHistory = {
  requested: [i('a'), i('b'), i('a', 'DRAINING'), i('c')],
  changes: [
    { subscriber: 's1', revision: 5, atMs: 1, instances: [i('a')] },
    { subscriber: 's1', revision: 7, atMs: 2, instances: [i('a', 'DRAINING'), i('b')] },
    { subscriber: 's2', revision: 7, atMs: 2, instances: [i('a', 'DRAINING'), i('b')] },
  ],
  finalViews: [
    { subscriber: 's1', revision: 7, atMs: 3, instances: [i('a', 'DRAINING'), i('b')] },
    { subscriber: 's2', revision: 7, atMs: 3, instances: [i('b'), i('a', 'DRAINING')] },
  ],
  registry: [i('a', 'DRAINING'), i('b')],
  expected: [i('b'), i('a', 'DRAINING')],
};
const violations = (h: Partial<MembershipHistory>): string =>
  checkMembership({ ...good, ...h }).violations.join('\n');

describe('membership checker', () => {
  it('accepts a good history', () => {
    expect(checkMembership(good).violations).toEqual([]);
  });

  it('rejects a final view that differs from the registry', () => {
    const finalViews = [{ subscriber: 's2', revision: 6, atMs: 3, instances: [i('a'), i('c')] }];
    const v = violations({ finalViews });
    expect(v).toContain("s2's final view (revision 6) differs from the registry: missing b:SERVING@h:b");
    expect(v).toContain('extra c:SERVING@h:c');
    expect(v).toContain('a:SERVING@h:a instead of a:DRAINING@h:a');
  });

  it('rejects a registry that differs from what the registrars hold', () => {
    expect(violations({ expected: [i('b')] })).toContain(
      'the registry differs from what the registrars hold: extra a:DRAINING@h:a',
    );
  });

  it('rejects a view that goes back in revision', () => {
    const changes = [...good.changes, { subscriber: 's1', revision: 6, atMs: 4, instances: [i('b')] }];
    expect(violations({ changes })).toContain("s1's view went back from revision 7 to 6");
  });

  it('rejects an instance state nobody asked for', () => {
    const changes = [{ subscriber: 's1', revision: 5, atMs: 1, instances: [i('b', 'DOWN')] }];
    expect(violations({ changes })).toContain('s1 saw b:DOWN@h:b at revision 5, which nobody registered');
  });
});
