/** Proves the txn text parser reads etcdctl's format (three blocks, quoting, every target) and names the line of a mistake. */
import { describe, expect, it } from 'vitest';
import { parseTxn, tokenize } from '../../src/cli/commands/txn-format.js';
import { UsageError } from '../../src/cli/exit-codes.js';

describe('txn format', () => {
  it('reads compares, success and failure blocks', () => {
    const t = parseTxn(
      'mod("k1") > "0"\nvalue("k2") = "a b"\nver(k3) != 2\nlease("k4") = "1f"\n\nput k1 "x y" --lease=1f\nget k2 --prefix\n\ndel k3 k4\n',
    );
    expect(t.compares).toEqual([
      { target: 'mod', key: 'k1', operator: '>', operand: 0 },
      { target: 'value', key: 'k2', operator: '==', operand: 'a b' },
      { target: 'version', key: 'k3', operator: '!=', operand: 2 },
      { target: 'lease', key: 'k4', operator: '==', operand: 31 },
    ]);
    expect(t.success.map((o) => o.kind)).toEqual(['put', 'get']);
    expect(t.success[0]).toMatchObject({ kind: 'put', value: Buffer.from('x y'), options: { lease: 31 } });
    expect(t.failure[0]).toMatchObject({
      kind: 'delete',
      key: Buffer.from('k3'),
      options: { rangeEnd: 'k4' },
    });
  });

  it('takes empty blocks: no compares, no success ops', () => {
    const t = parseTxn('\n\nput a b\n');
    expect(t.compares).toEqual([]);
    expect(t.success).toEqual([]);
    expect(t.failure.map((o) => o.kind)).toEqual(['put']);
  });

  it('unquotes with escapes', () => {
    expect(tokenize('put "a \\"q\\"" b\\c', 1)).toEqual(['put', 'a "q"', 'b\\c']);
  });

  it('names the line of a mistake', () => {
    expect(() => parseTxn('mod("k") ~ 1\n')).toThrow(UsageError);
    expect(() => parseTxn('value("k") = "v"\n\nfrob k\n')).toThrow(/line 3/);
    expect(() => parseTxn('mod("k") = "x"\n')).toThrow(/number/);
  });
});
