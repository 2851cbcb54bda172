/**
 * The text format of `cairnctl txn`, etcdctl's: three blocks separated by an empty line —
 * compares (`mod("k") > "0"`, `value("k") = "v"`; targets ver/version, create, mod, value,
 * lease; operators = != < >), then success operations, then failure operations
 * (`put KEY VALUE [--lease=ID]`, `get KEY [RANGE_END] [--prefix]`, `del KEY [RANGE_END]
 * [--prefix]`). Tokens may be double-quoted with backslash escapes. Errors name the line.
 */
import type { Op } from '../../client/kv-ops.js';
import { op } from '../../client/kv-ops.js';
import type { CompareOp } from '../../client/txn.js';
import { UsageError } from '../exit-codes.js';

/** One parsed comparison. */
export interface TxnCompare {
  target: 'version' | 'create' | 'mod' | 'value' | 'lease';
  key: string;
  operator: CompareOp;
  /** The value for `value`, a number for the others. */
  operand: string | number;
}

/** A parsed transaction. */
export interface TxnText {
  compares: TxnCompare[];
  success: Op[];
  failure: Op[];
}

const TARGETS: Record<string, TxnCompare['target']> = {
  ver: 'version',
  version: 'version',
  c: 'create',
  create: 'create',
  createrevision: 'create',
  m: 'mod',
  mod: 'mod',
  modrevision: 'mod',
  val: 'value',
  value: 'value',
  lease: 'lease',
};

const OPERATORS: Record<string, CompareOp> = { '=': '==', '==': '==', '!=': '!=', '<': '<', '>': '>' };

/** Splits a line into words; "double quoted" words keep spaces and take \" \\ \n escapes. */
export function tokenize(line: string, lineNo: number): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i] as string)) i++;
    if (i >= line.length) break;
    let word = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new UsageError(`txn line ${lineNo}: unterminated quote`);
        const ch = line[i++] as string;
        if (ch === '"') break;
        if (ch === '\\' && i < line.length) {
          const next = line[i++] as string;
          word += next === 'n' ? '\n' : next === 't' ? '\t' : next;
        } else word += ch;
      }
    } else {
      while (i < line.length && !/\s/.test(line[i] as string)) word += line[i++];
    }
    words.push(word);
  }
  return words;
}

function parseCompare(line: string, lineNo: number): TxnCompare {
  const m = /^\s*([A-Za-z]+)\(\s*("(?:[^"\\]|\\.)*"|[^)\s]+)\s*\)\s*(==|=|!=|<|>)\s*(.+?)\s*$/.exec(line);
  if (!m) {
    throw new UsageError(
      `txn line ${lineNo}: "${line}" is not a compare like mod("key") > "0" or value("key") = "v"`,
    );
  }
  const target = TARGETS[(m[1] as string).toLowerCase()];
  if (!target)
    throw new UsageError(
      `txn line ${lineNo}: unknown compare target "${m[1]}" (ver, create, mod, value, lease)`,
    );
  const key = tokenize(m[2] as string, lineNo)[0] ?? '';
  const operator = OPERATORS[m[3] as string] as CompareOp;
  const raw = tokenize(m[4] as string, lineNo);
  if (raw.length !== 1) throw new UsageError(`txn line ${lineNo}: one value expected after ${m[3]}`);
  const value = raw[0] as string;
  if (target === 'value') return { target, key, operator, operand: value };
  const n = target === 'lease' ? Number.parseInt(value, 16) : Number(value);
  if (!/^(0x)?[0-9a-f]+$/i.test(value) || !Number.isSafeInteger(n)) {
    throw new UsageError(`txn line ${lineNo}: ${target} compares with a number, not "${value}"`);
  }
  return { target, key, operator, operand: n };
}

function parseOp(line: string, lineNo: number): Op {
  const words = tokenize(line, lineNo);
  const [verb, ...args] = words;
  const flags = args.filter((a) => a.startsWith('--'));
  const plain = args.filter((a) => !a.startsWith('--'));
  const bad = (why: string) => new UsageError(`txn line ${lineNo}: ${why}`);
  const prefix = flags.includes('--prefix');
  switch (verb) {
    case 'put': {
      if (plain.length !== 2) throw bad('put takes KEY VALUE');
      const lease = flags.find((f) => f.startsWith('--lease='))?.slice('--lease='.length);
      const unknown = flags.filter((f) => !f.startsWith('--lease='));
      if (unknown.length > 0) throw bad(`put: unknown flag ${unknown[0]}`);
      const leaseId = lease === undefined ? 0 : Number.parseInt(lease, 16);
      if (lease !== undefined && !(/^[0-9a-f]+$/i.test(lease) && leaseId > 0))
        throw bad(`put: bad lease "${lease}"`);
      return op.put(plain[0] as string, plain[1] as string, leaseId ? { lease: leaseId } : {});
    }
    case 'get':
    case 'del':
    case 'delete': {
      if (plain.length < 1 || plain.length > 2) throw bad(`${verb} takes KEY [RANGE_END]`);
      const unknown = flags.filter((f) => f !== '--prefix');
      if (unknown.length > 0) throw bad(`${verb}: unknown flag ${unknown[0]}`);
      const selector = {
        ...(prefix ? { prefix: true } : {}),
        ...(plain[1] !== undefined ? { rangeEnd: plain[1] } : {}),
      };
      return verb === 'get' ? op.get(plain[0] as string, selector) : op.delete(plain[0] as string, selector);
    }
    default:
      throw bad(`"${verb}" is not an operation (put, get, del)`);
  }
}

/** Parses the three blocks of a transaction. */
export function parseTxn(source: string): TxnText {
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  const blocks: { text: string; no: number }[][] = [[]];
  lines.forEach((text, i) => {
    if (text.trim().startsWith('#')) return;
    if (text.trim() === '') {
      blocks.push([]);
      return;
    }
    (blocks[blocks.length - 1] as { text: string; no: number }[]).push({ text, no: i + 1 });
  });
  // Each empty line ends a block (an empty block: no compares, no ops); extra trailing ones do not count.
  while (blocks.length > 3 && (blocks[blocks.length - 1] as unknown[]).length === 0) blocks.pop();
  if (blocks.length > 3) throw new UsageError('txn: more than three blocks (compares, success, failure)');
  const [c = [], s = [], f = []] = blocks;
  return {
    compares: c.map((l) => parseCompare(l.text, l.no)),
    success: s.map((l) => parseOp(l.text, l.no)),
    failure: f.map((l) => parseOp(l.text, l.no)),
  };
}
