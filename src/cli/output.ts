/**
 * What cairnctl prints: aligned tables for people (colour only on a terminal and without
 * NO_COLOR or --no-color), one stable JSON object per command for machines (one per line
 * for streams), and etcdctl-like plain lines ("simple"). Keys and values print as UTF-8.
 */
import type { OutputFormat } from './args.js';

/** Where output goes: stdout and stderr writers, and whether stdout is a terminal. */
export interface Streams {
  out: (text: string) => void;
  err: (text: string) => void;
  isTty: boolean;
  env: NodeJS.ProcessEnv;
}

/** An escape sequence, for measuring visible width. */
const ESCAPES = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g');

const ANSI = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

/** A colour or weight. */
export type Style = keyof typeof ANSI;

/** A JSON value as cairnctl prints it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

/** The printer of one command run. */
export class Output {
  /** Whether escapes are written. */
  readonly color: boolean;

  constructor(
    private readonly streams: Streams,
    /** The chosen format. */
    readonly format: OutputFormat,
    noColorFlag: boolean,
  ) {
    const env = streams.env.NO_COLOR;
    this.color = streams.isTty && !noColorFlag && (env === undefined || env === '') && format === 'table';
  }

  /** Whether stdout is a terminal (progress lines, prompts). */
  get isTty(): boolean {
    return this.streams.isTty;
  }

  /** Text in a style when colour is on. */
  style(style: Style, text: string): string {
    if (!this.color) return text;
    const [on, off] = ANSI[style];
    return `\u001b[${on}m${text}\u001b[${off}m`;
  }

  /** Writes one line to stdout. */
  line(text = ''): void {
    this.streams.out(`${text}\n`);
  }

  /** Writes raw text to stdout (progress lines end in \r). */
  raw(text: string): void {
    this.streams.out(text);
  }

  /** Writes one line to stderr. */
  error(text: string): void {
    this.streams.err(`${text}\n`);
  }

  /** Writes one JSON object on one line (stable key order: as built). */
  json(value: Json): void {
    this.streams.out(`${JSON.stringify(value)}\n`);
  }

  /** Writes an aligned table with a bold header; cells may carry colour (width counts visible text). */
  table(headers: readonly string[], rows: readonly (readonly string[])[]): void {
    const visible = (s: string) => s.replace(ESCAPES, '').length;
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ''))));
    const fmt = (cells: readonly string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - visible(c))))
        .join('  ')
        .trimEnd();
    this.line(this.style('bold', fmt(headers)));
    for (const r of rows) this.line(fmt(r));
  }
}

/** Bytes as UTF-8 text for printing. */
export function text(b: Buffer): string {
  return b.toString('utf8');
}

/** An id as cairnctl prints it: hex, as etcdctl does. */
export function hexId(id: number): string {
  return id.toString(16);
}

/** A byte count for people: 1.2 MB. */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
