/**
 * The fuzz loop: case i of seed S is drawn from its own PRNG (so one case replays alone),
 * sent to member i mod n, through grpc-js as raw bytes (nine cases in ten) or as a raw
 * HTTP/2 exchange (one in ten). Requests the guard refuses are redrawn; each answer is
 * judged by invoke.ts or http2-cases.ts, and every failure carries the seed, the case
 * index, the method and the payload.
 */
import type * as grpc from '@grpc/grpc-js';
import { SimPrng } from '../sim/prng.js';
import { PayloadGenerator, type PayloadKind } from './generate.js';
import { type GuardContext, unsafeReason } from './guard.js';
import { rawCase } from './http2-cases.js';
import { callRaw, problemOf, rawClient } from './invoke.js';
import { type ApiMethod, loadApiMethods } from './schema.js';

/** How to run. */
export interface FuzzOptions {
  readonly seed: number;
  readonly count: number;
  /** host:port of each member's client URL. */
  readonly endpoints: readonly string[];
  readonly guard: GuardContext;
  /** The server's transport limit (--max-request-bytes + 512 KiB), for the oversized raw case. */
  readonly maxReceiveBytes: number;
  /** Calls in flight at once. */
  readonly concurrency?: number;
  /** Deadline of each call (blocking calls such as Lock end by it). */
  readonly callTimeoutMs?: number;
  /** Only these case indexes (replay). */
  readonly only?: readonly number[];
}

/** One case that was answered wrongly. */
export interface FuzzFailure {
  readonly seed: number;
  readonly index: number;
  readonly endpoint: string;
  readonly method: string;
  readonly kind: string;
  /** The payload(s), hex, cut at 256 bytes each, with their lengths. */
  readonly payload: string;
  /** The server's decoding of the payload, if it decodes. */
  readonly decoded: string;
  readonly problem: string;
}

/** What a run did. */
export interface FuzzReport {
  readonly cases: number;
  readonly refusedByGuard: number;
  /** Answers by gRPC code name (raw HTTP/2 cases by their name). */
  readonly outcomes: Record<string, number>;
  /** Distinct status messages by code (numbers and keys masked, at most 100 kinds), with counts. */
  readonly messages: Record<string, number>;
  readonly failures: FuzzFailure[];
  readonly durationMs: number;
}

/**
 * How long a raw HTTP/2 exchange may take before it counts as unanswered: generous, since a
 * 2 MiB upload to a loaded machine is slow, and a correct server answers well within it.
 */
const RAW_EXCHANGE_TIMEOUT_MS = 30_000;

/** The PRNG of case `index` of `seed`. */
export function casePrng(seed: number, index: number): SimPrng {
  return new SimPrng((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** A printable form of payloads. */
export function describePayloads(payloads: readonly Buffer[]): string {
  return payloads
    .map((p) => `${p.length}B:${p.subarray(0, 256).toString('hex')}${p.length > 256 ? '…' : ''}`)
    .join(' | ');
}

function describeDecoded(method: ApiMethod, payloads: readonly Buffer[]): string {
  return payloads
    .map((p) => {
      try {
        const s = JSON.stringify(method.decode(p), (_k, v: unknown) =>
          v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer'
            ? Buffer.from((v as { data: number[] }).data)
                .subarray(0, 64)
                .toString('latin1')
            : v,
        );
        return s.length > 600 ? `${s.slice(0, 600)}…` : s;
      } catch (err) {
        return `(does not decode: ${(err as Error).message})`;
      }
    })
    .join(' | ');
}

/** One prepared case. */
interface PreparedCase {
  readonly index: number;
  readonly endpoint: string;
  readonly method: ApiMethod;
  readonly kind: PayloadKind | 'raw-http2';
  readonly payloads: Buffer[];
  readonly refused: number;
  readonly raw?: ReturnType<typeof rawCase>;
}

/** Draws case `index` (deterministic in seed and index). */
export function prepareCase(
  seed: number,
  index: number,
  methods: readonly ApiMethod[],
  opts: Pick<FuzzOptions, 'endpoints' | 'guard' | 'maxReceiveBytes'>,
): PreparedCase {
  const prng = casePrng(seed, index);
  const endpoint = opts.endpoints[index % opts.endpoints.length]!;
  let refused = 0;
  for (;;) {
    const method = prng.pick(methods);
    if (prng.chance(0.1) && !method.requestStream) {
      const raw = rawCase(prng, method, opts.maxReceiveBytes);
      return { index, endpoint, method, kind: 'raw-http2', payloads: [], refused, raw };
    }
    const gen = new PayloadGenerator(prng);
    const n = method.requestStream ? 1 + prng.nextInt(4) : 1;
    const drawn = Array.from({ length: n }, () => gen.payload(method));
    const payloads = drawn.map((d) => d.bytes);
    const unsafe = payloads.some((p) => {
      let decoded: Record<string, unknown>;
      try {
        decoded = method.decode(p);
      } catch {
        return false; // the server cannot decode it either
      }
      return unsafeReason(method, decoded, opts.guard) !== undefined;
    });
    if (unsafe) {
      refused++;
      continue;
    }
    return { index, endpoint, method, kind: drawn[0]!.kind, payloads, refused };
  }
}

/** Runs the fuzzer against a running cluster. */
export async function runApiFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const began = performance.now();
  const methods = loadApiMethods();
  const clients = new Map<string, grpc.Client>(opts.endpoints.map((e) => [e, rawClient(e)]));
  const timeoutMs = opts.callTimeoutMs ?? 1500;
  const outcomes: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  const messages: Record<string, number> = {};
  let refusedByGuard = 0;
  const indexes = opts.only ?? Array.from({ length: opts.count }, (_, i) => i);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < indexes.length) {
      const index = indexes[next++]!;
      const c = prepareCase(opts.seed, index, methods, opts);
      refusedByGuard += c.refused;
      let problem: string | undefined;
      let outcomeName: string;
      if (c.raw) {
        const o = await c.raw.run(c.endpoint, RAW_EXCHANGE_TIMEOUT_MS);
        problem = c.raw.check(o);
        outcomeName = `http2 ${c.raw.name}`;
      } else {
        const o = await callRaw(clients.get(c.endpoint)!, c.method, c.payloads, timeoutMs);
        problem = problemOf(o);
        outcomeName = STATUS_NAMES[o.code] ?? String(o.code);
        const kind = `${outcomeName} ${o.details.slice(0, 100).replace(/[0-9]+/g, 'N')}`;
        if (messages[kind] !== undefined || Object.keys(messages).length < 100)
          messages[kind] = (messages[kind] ?? 0) + 1;
        if (problem) problem = `${problem} (code ${outcomeName})`;
      }
      outcomes[outcomeName] = (outcomes[outcomeName] ?? 0) + 1;
      if (problem)
        failures.push({
          seed: opts.seed,
          index,
          endpoint: c.endpoint,
          method: c.method.path,
          kind: c.raw ? `raw-http2: ${c.raw.name} on ${c.raw.path}` : c.kind,
          payload: c.raw ? '(raw HTTP/2 case)' : describePayloads(c.payloads),
          decoded: c.raw ? '' : describeDecoded(c.method, c.payloads),
          problem,
        });
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency ?? 24 }, () => worker()));
  } finally {
    for (const c of clients.values()) c.close();
  }
  return {
    cases: indexes.length,
    refusedByGuard,
    outcomes,
    messages,
    failures,
    durationMs: performance.now() - began,
  };
}

/** One line per failure, with everything needed to replay it. */
export function formatFailure(f: FuzzFailure): string {
  return [
    `FUZZ FAILURE seed=${f.seed} case=${f.index} (replay: npm run fuzz -- --seed ${f.seed} --case ${f.index})`,
    `  ${f.method} on ${f.endpoint} [${f.kind}]: ${f.problem}`,
    `  payload: ${f.payload}`,
    ...(f.decoded ? [`  decoded: ${f.decoded}`] : []),
  ].join('\n');
}
