/**
 * Fault-injection test hooks, inert unless their environment variable is set (never, in
 * production): the chaos harness (test/chaos) uses them to give a member a slow disk and a
 * jumping wall clock. Each variable names a file holding one number that the harness
 * rewrites while the member runs; the member re-reads it at most every REFRESH_MS (an
 * unref'd timer, so no file I/O on a hot path), and an absent, empty or unreadable file
 * means 0.
 *
 * - CAIRN_FAULT_SYNC_DELAY_FILE: milliseconds to wait before every synced storage write
 *   (LevelStorage's beforeSync), a slow fsync.
 * - CAIRN_FAULT_CLOCK_OFFSET_FILE: milliseconds added to Date.now() in this process, a wall
 *   clock that jumps. Time-outs and lease deadlines use monotonic time and must not care.
 * - CAIRN_FAULT_LOAD_HOLD_FILE: while it holds a number other than 0, a starting member's
 *   load counts as unfinished (raft runs; the member neither applies nor serves), a slow load.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** The variable naming the slow-disk file. */
export const SYNC_DELAY_FILE_ENV = 'CAIRN_FAULT_SYNC_DELAY_FILE';
/** The variable naming the clock-offset file. */
export const CLOCK_OFFSET_FILE_ENV = 'CAIRN_FAULT_CLOCK_OFFSET_FILE';
/** The variable naming the load-hold file. */
export const LOAD_HOLD_FILE_ENV = 'CAIRN_FAULT_LOAD_HOLD_FILE';
/** How often a hook re-reads its file, at most. */
export const FAULT_FILE_REFRESH_MS = 100;

/** The largest sync delay honoured (a typo must not hang a member for hours). */
const SYNC_DELAY_MS_MAX = 10_000;

function parse(text: string): number {
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : 0;
}

/** A number kept in a file, re-read in the background; 0 while the file is absent. */
export class FaultValueFile {
  private current: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly path: string) {
    try {
      this.current = parse(readFileSync(path, 'utf8'));
    } catch {
      this.current = 0;
    }
    this.timer = setInterval(() => {
      readFile(this.path, 'utf8').then(
        (t) => {
          this.current = parse(t);
        },
        () => {
          this.current = 0;
        },
      );
    }, FAULT_FILE_REFRESH_MS);
    this.timer.unref();
  }

  /** The value last read. */
  get value(): number {
    return this.current;
  }

  /** Stops re-reading. */
  close(): void {
    clearInterval(this.timer);
  }
}

/** A slow-disk hook for LevelStorage's beforeSync, or undefined when the variable is unset. */
export function syncDelayHookFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): (() => Promise<void>) | undefined {
  const path = env[SYNC_DELAY_FILE_ENV];
  if (!path) return undefined;
  const file = new FaultValueFile(path);
  return async () => {
    const ms = Math.min(SYNC_DELAY_MS_MAX, file.value);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  };
}

/**
 * A slow-load hook, awaited once a member's store has loaded: resolves once the load-hold
 * file reads 0 (or is absent); undefined when the variable is unset.
 */
export function loadHoldFromEnv(env: NodeJS.ProcessEnv = process.env): (() => Promise<void>) | undefined {
  const path = env[LOAD_HOLD_FILE_ENV];
  if (!path) return undefined;
  return async () => {
    const file = new FaultValueFile(path);
    try {
      while (file.value !== 0) await new Promise((r) => setTimeout(r, FAULT_FILE_REFRESH_MS));
    } finally {
      file.close();
    }
  };
}

/**
 * Shifts Date.now() by the clock-offset file's milliseconds when the variable is set;
 * returns how to undo it (a no-op when the variable is unset).
 */
export function installClockOffsetFromEnv(env: NodeJS.ProcessEnv = process.env): () => void {
  const path = env[CLOCK_OFFSET_FILE_ENV];
  if (!path) return () => {};
  const file = new FaultValueFile(path);
  const realNow = Date.now;
  Date.now = () => realNow() + file.value;
  return () => {
    file.close();
    Date.now = realNow;
  };
}
