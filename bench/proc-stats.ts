/**
 * CPU time and resident memory of the member processes while a workload runs, from
 * /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmRSS), sampled periodically:
 * CPU seconds are the difference between the first and last reading, peak RSS the largest
 * sample.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** What one member process used during a workload. */
export interface NodeUsage {
  readonly name: string;
  readonly pid: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
}

/** Clock ticks per second of /proc's CPU times (almost always 100). */
const TICKS_PER_SECOND = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** How often RSS is sampled. */
const SAMPLE_INTERVAL_MS = 200;

function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}

function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A process to watch: its member name and a way to learn its current pid (a restarted member changes it). */
export interface Watched {
  readonly name: string;
  pid(): number | undefined;
}

/** Samples the given processes until stop() is called. */
export class ProcSampler {
  private readonly state = new Map<
    string,
    { pid: number; firstTicks: number; lastTicks: number; peakKb: number }
  >();
  private readonly timer: NodeJS.Timeout;
  private ticksBefore = new Map<string, number>();

  constructor(private readonly procs: readonly Watched[]) {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
  }

  private sample(): void {
    for (const p of this.procs) {
      const pid = p.pid();
      if (pid === undefined) continue;
      const ticks = cpuTicks(pid);
      const kb = rssKb(pid);
      if (ticks === undefined) continue;
      const s = this.state.get(p.name);
      if (!s || s.pid !== pid) {
        // A new process (first sample, or the member was restarted): keep what the old one used.
        const carried = s ? s.lastTicks - s.firstTicks + (this.ticksBefore.get(p.name) ?? 0) : 0;
        this.ticksBefore.set(p.name, carried);
        this.state.set(p.name, {
          pid,
          firstTicks: ticks,
          lastTicks: ticks,
          peakKb: Math.max(kb ?? 0, s?.peakKb ?? 0),
        });
      } else {
        s.lastTicks = ticks;
        s.peakKb = Math.max(s.peakKb, kb ?? 0);
      }
    }
  }

  /** Stops sampling and returns each process's CPU seconds and peak RSS over the sampled time. */
  stop(): NodeUsage[] {
    this.sample();
    clearInterval(this.timer);
    return this.procs.map((p) => {
      const s = this.state.get(p.name);
      const ticks = s ? s.lastTicks - s.firstTicks + (this.ticksBefore.get(p.name) ?? 0) : 0;
      return {
        name: p.name,
        pid: s?.pid ?? 0,
        cpuSeconds: ticks / TICKS_PER_SECOND,
        peakRssMb: (s?.peakKb ?? 0) / 1024,
      };
    });
  }
}
