/**
 * `check perf`: a bounded load test — up to N puts from C concurrent clients for at most D
 * seconds under a scratch prefix (deleted afterwards) — printing throughput and latency
 * percentiles (hdr-histogram-js when installed, else exact percentiles of the samples). On a
 * terminal (table output) a progress bar is redrawn in place while it runs.
 */
import { Client } from '../../client/client.js';
import { parseCount, parseDurationMs, str } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError } from '../exit-codes.js';

/** Latencies recorded in microseconds, with percentiles. */
interface Recorder {
  record(us: number): void;
  percentileMs(q: number): number;
  maxMs(): number;
}

/** Exact percentiles over the samples (bounded by --total). */
function exactRecorder(): Recorder {
  const samples: number[] = [];
  let sorted = false;
  const sort = () => {
    if (!sorted) samples.sort((a, b) => a - b);
    sorted = true;
  };
  return {
    record(us) {
      samples.push(us);
      sorted = false;
    },
    percentileMs(q) {
      sort();
      if (samples.length === 0) return 0;
      const i = Math.min(samples.length - 1, Math.ceil((q / 100) * samples.length) - 1);
      return (samples[Math.max(0, i)] as number) / 1000;
    },
    maxMs() {
      sort();
      return (samples[samples.length - 1] ?? 0) / 1000;
    },
  };
}

async function recorder(): Promise<Recorder> {
  try {
    const hdr = await import('hdr-histogram-js');
    const h = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 600_000_000,
      numberOfSignificantValueDigits: 3,
    });
    return {
      record: (us) => h.recordValue(Math.max(1, us)),
      percentileMs: (q) => h.getValueAtPercentile(q) / 1000,
      maxMs: () => h.maxValue / 1000,
    };
  } catch {
    // hdr-histogram-js is a devDependency: an install without dev packages has none.
    return exactRecorder();
  }
}

/** `check perf`. */
export const checkPerf: Command = {
  name: 'check perf',
  summary: 'a bounded load test: puts from concurrent clients, throughput and p50/p99',
  usage: `check perf [--total N] [--clients C] [--duration D] [--value-size BYTES] [--prefix P]
  --total N         at most N puts (default 1000)
  --clients C       C concurrent clients, one connection each (default 8)
  --duration D      stop after D at most (default 10s)
  --value-size B    bytes per value (default 256)
  --prefix P        scratch prefix, deleted afterwards (default /cairnctl/check-perf/)
  Exits 1 when any put failed.`,
  options: {
    total: { type: 'string' },
    clients: { type: 'string' },
    duration: { type: 'string' },
    'value-size': { type: 'string' },
    prefix: { type: 'string' },
  },
  arity: [0, 0],
  async run(ctx) {
    const total = parseCount(str(ctx.flags, 'total') ?? '1000', '--total', { min: 1 });
    const clientsN = parseCount(str(ctx.flags, 'clients') ?? '8', '--clients', { min: 1 });
    if (clientsN > 256) throw new UsageError('--clients: at most 256');
    const durationMs = parseDurationMs(str(ctx.flags, 'duration') ?? '10s', '--duration');
    const valueSize = parseCount(str(ctx.flags, 'value-size') ?? '256', '--value-size', { min: 0 });
    const prefix = str(ctx.flags, 'prefix') ?? '/cairnctl/check-perf/';
    if (prefix === '') throw new UsageError('--prefix must not be empty');
    const main = ctx.client();
    // Fail fast (and clearly) when the cluster cannot be reached, before starting C clients.
    await main.kv.get(prefix, { prefix: true, countOnly: true });
    const endpoints = main.connection.endpoints.map((e) => (e.secure ? `https://${e.address}` : e.address));
    const tlsFlags = {
      ...(str(ctx.flags, 'cacert') !== undefined ? { caFile: str(ctx.flags, 'cacert') as string } : {}),
      ...(str(ctx.flags, 'cert') !== undefined ? { certFile: str(ctx.flags, 'cert') as string } : {}),
      ...(str(ctx.flags, 'key') !== undefined ? { keyFile: str(ctx.flags, 'key') as string } : {}),
    };
    const clients = Array.from(
      { length: clientsN },
      () =>
        new Client({
          endpoints,
          deadlineMs: ctx.timeoutMs,
          ...(Object.keys(tlsFlags).length > 0 ? { tls: tlsFlags } : {}),
        }),
    );
    const hist = await recorder();
    const value = Buffer.alloc(valueSize, 'v');
    const out = ctx.out;
    const progress = out.isTty && out.format === 'table';
    let started = 0;
    let done = 0;
    let errors = 0;
    let lastError = '';
    const t0 = performance.now();
    const until = t0 + durationMs;
    /** Redraws the progress line in place: a 30-column bar, puts done of the total, and the rate so far. */
    const drawBar = () => {
      const width = 30;
      const filled = Math.round((done / total) * width);
      const elapsed = (performance.now() - t0) / 1000;
      out.raw(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}  ${(done / Math.max(elapsed, 0.001)).toFixed(0)} puts/s  `,
      );
    };
    // Drawn at once and at the end too, so even a run shorter than one interval shows it.
    if (progress) drawBar();
    const bar = progress ? setInterval(drawBar, 200) : undefined;
    try {
      await Promise.all(
        clients.map(async (c, w) => {
          while (started < total && performance.now() < until && !ctx.signal.aborted) {
            const n = started++;
            const t = performance.now();
            try {
              await c.kv.put(`${prefix}${w}/${n}`, value);
              hist.record(Math.round((performance.now() - t) * 1000));
            } catch (err) {
              errors++;
              lastError = (err as Error).message;
            }
            done++;
          }
        }),
      );
    } finally {
      clearInterval(bar);
      // The finished bar stays on screen above the summary.
      if (progress) {
        drawBar();
        out.raw('\n');
      }
      await Promise.all(clients.map((c) => c.close()));
    }
    const seconds = (performance.now() - t0) / 1000;
    const ok = done - errors;
    await main.kv.delete(prefix, { prefix: true }).catch(() => undefined);
    const result = {
      puts: ok,
      errors,
      clients: clientsN,
      seconds: Number(seconds.toFixed(3)),
      throughput_per_s: Number((ok / seconds).toFixed(1)),
      p50_ms: Number(hist.percentileMs(50).toFixed(3)),
      p90_ms: Number(hist.percentileMs(90).toFixed(3)),
      p99_ms: Number(hist.percentileMs(99).toFixed(3)),
      max_ms: Number(hist.maxMs().toFixed(3)),
    };
    if (out.format === 'json') out.json(result);
    else if (out.format === 'simple') {
      out.line(`${result.throughput_per_s} ${result.p50_ms} ${result.p99_ms}`);
    } else {
      out.line(
        `${ok} puts from ${clientsN} clients in ${result.seconds} s: ${out.style('bold', `${result.throughput_per_s} puts/s`)}`,
      );
      out.line(
        `latency p50 ${result.p50_ms} ms, p90 ${result.p90_ms} ms, p99 ${result.p99_ms} ms, max ${result.max_ms} ms`,
      );
      if (errors > 0) out.line(out.style('red', `${errors} puts failed; last error: ${lastError}`));
    }
    return errors > 0 ? ExitCode.FAILED : ExitCode.OK;
  },
};
