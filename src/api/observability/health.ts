/**
 * etcd's health endpoints on the metrics listener. /health answers JSON
 * {"health":"true","reason":""}, or 503 with "false" and a reason: an active alarm
 * ("ALARM NOSPACE"; ?exclude=NOSPACE ignores one), no leader ("RAFT NO LEADER"), or a read
 * that fails (linearizable unless ?serializable=true). /livez and /readyz answer as etcd's
 * (Kubernetes-style) probes: plain "ok", or 503 naming the failed checks; ?verbose lists
 * every check, ?exclude=<check> skips one. /livez: serializable_read. /readyz:
 * data_corruption, serializable_read, linearizable_read.
 */

/** What the checks read from the member. */
export interface HealthSource {
  leader(): number;
  /** Names of the alarms active anywhere in the cluster (NOSPACE, CORRUPT). */
  activeAlarms(): readonly string[];
  /** A local read; throws when the member cannot serve one (stopped, failed). */
  serializableRead(): void;
  /** A linearizable read (a ReadIndex round); rejects when it cannot complete. */
  linearizableRead(): Promise<void>;
  /** The longest a linearizable check waits. */
  readonly checkTimeoutMs: number;
}

/** An HTTP answer. */
export interface HealthAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('request timed out')), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** /health, as etcd answers it. */
export async function health(source: HealthSource, query: URLSearchParams): Promise<HealthAnswer> {
  const answer = (ok: boolean, reason: string): HealthAnswer => ({
    status: ok ? 200 : 503,
    contentType: 'application/json',
    body: JSON.stringify({ health: ok ? 'true' : 'false', reason }),
  });
  const excluded = new Set(query.getAll('exclude'));
  const alarms = source.activeAlarms().filter((a) => !excluded.has(a));
  if (alarms.length > 0) return answer(false, `ALARM ${alarms.join(' ')}`);
  if (source.leader() === 0) return answer(false, 'RAFT NO LEADER');
  try {
    if (query.get('serializable') === 'true') source.serializableRead();
    else await withTimeout(source.linearizableRead(), source.checkTimeoutMs);
  } catch (err) {
    return answer(false, `RANGE ERROR:${message(err)}`);
  }
  return answer(true, '');
}

type Check = (source: HealthSource) => Promise<void>;

const CHECKS: Readonly<Record<string, Check>> = {
  data_corruption: async (s) => {
    if (s.activeAlarms().includes('CORRUPT')) throw new Error('alarm activated: CORRUPT');
  },
  serializable_read: async (s) => s.serializableRead(),
  linearizable_read: (s) => withTimeout(s.linearizableRead(), s.checkTimeoutMs),
};

/** The checks of each probe. */
export const PROBES: Readonly<Record<'livez' | 'readyz', readonly string[]>> = {
  livez: ['serializable_read'],
  readyz: ['data_corruption', 'serializable_read', 'linearizable_read'],
};

/** /livez or /readyz. */
export async function probe(
  source: HealthSource,
  which: 'livez' | 'readyz',
  query: URLSearchParams,
): Promise<HealthAnswer> {
  const excluded = new Set(query.getAll('exclude'));
  const verbose = query.has('verbose');
  const lines: string[] = [];
  let failed = false;
  for (const name of PROBES[which]) {
    if (excluded.has(name)) {
      lines.push(`[+]${name} excluded: ok`);
      continue;
    }
    try {
      await CHECKS[name]!(source);
      lines.push(`[+]${name} ok`);
    } catch (err) {
      failed = true;
      lines.push(`[-]${name} failed: ${message(err)}`);
    }
  }
  const text = failed
    ? `${lines.join('\n')}\n${which} check failed\n`
    : verbose
      ? `${lines.join('\n')}\n${which} check passed\n`
      : 'ok';
  return { status: failed ? 503 : 200, contentType: 'text/plain; charset=utf-8', body: text };
}
