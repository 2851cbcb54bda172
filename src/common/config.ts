/**
 * The server's configuration schema: etcd's flag names where the meaning is the same, a
 * YAML config file with the same keys (--config-file), and CAIRN_* environment variables
 * (CAIRN_DATA_DIR for --data-dir). Precedence: flags over environment over file over
 * defaults. Every value is validated here, once, with an error that names the setting.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type * as Yaml from 'yaml';
import { CairnError, ErrorCode } from './errors.js';

/** Parses a YAML document; the parser (72 modules) is loaded only when a config file is read. */
function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof Yaml).parse(text);
}

/** One member of the initial cluster, from --initial-cluster name=url,... */
export interface InitialMember {
  readonly name: string;
  readonly peerUrls: readonly string[];
}

/** Everything a Cairn server needs to start. Units are in the names. */
export interface ServerConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  readonly listenPeerUrls: readonly string[];
  readonly initialAdvertisePeerUrls: readonly string[];
  readonly initialCluster: readonly InitialMember[];
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  /**
   * Applied entries between two snapshots (log compaction). Default 10,000, etcd 3.6's: a
   * snapshot here serializes nothing (the state machine's data is on disk already), so a
   * shorter log costs nothing but keeps less of it in memory and to read at start-up.
   */
  readonly snapshotCount: number;
  /** Entries kept in the log behind a snapshot, so slow followers can catch up without one. */
  readonly snapshotCatchUpEntries: number;
  /** Data bytes appended since the last snapshot that also trigger one; catch-up entries keep at most half as many. */
  readonly snapshotLogBytes: number;
  readonly maxRequestBytes: number;
  readonly quotaBackendBytes: number;
  /** How long a write or linearizable read may wait before answering "request timed out". */
  readonly requestTimeoutMs: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Whether the leader answers linearizable reads under its lease instead of a ReadIndex round
   * (src/raft/read-lease.ts; assumes members' clocks run at rates within about 10% of each other).
   */
  readonly leaseReads: boolean;
  /** Interval of watch progress notifications (etcd's --experimental-watch-progress-notify-interval); 10 minutes if unset. */
  readonly watchProgressNotifyIntervalMs?: number;
  /** PEM certificate served on https:// client URLs (--cert-file). */
  readonly certFile?: string;
  /** PEM private key of certFile (--key-file). */
  readonly keyFile?: string;
  /** PEM CA bundle that client certificates must chain to (--trusted-ca-file). */
  readonly trustedCaFile?: string;
  /** Whether https:// client URLs refuse clients without a certificate signed by trustedCaFile. */
  readonly clientCertAuth: boolean;
  /** PEM certificate for the peer server and for dialling peers (--peer-cert-file). */
  readonly peerCertFile?: string;
  /** PEM private key of peerCertFile (--peer-key-file). */
  readonly peerKeyFile?: string;
  /** PEM CA bundle peers' certificates must chain to, both ways (--peer-trusted-ca-file). */
  readonly peerTrustedCaFile?: string;
  /** Whether https:// peer URLs refuse peers without a certificate signed by peerTrustedCaFile. */
  readonly peerClientCertAuth: boolean;
  /** http:// URLs of the metrics listener: /metrics, /health, /readyz, /livez and the dashboard (--listen-metrics-urls). */
  readonly listenMetricsUrls?: readonly string[];
}

/** Defaults as etcd's where etcd has the setting. */
export const SERVER_DEFAULTS = {
  name: 'default',
  listenClientUrls: ['http://127.0.0.1:2379'],
  listenPeerUrls: ['http://127.0.0.1:2380'],
  initialClusterState: 'new',
  initialClusterToken: 'cairn-cluster',
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  snapshotCount: 10_000,
  snapshotCatchUpEntries: 5_000,
  snapshotLogBytes: 64 * 1024 * 1024,
  maxRequestBytes: 1.5 * 1024 * 1024,
  quotaBackendBytes: 2 * 1024 * 1024 * 1024,
  requestTimeoutMs: 7_000,
  logLevel: 'info',
  leaseReads: true,
  clientCertAuth: false,
  peerClientCertAuth: false,
} as const;

/** Flag name -> (config key, kind). The same names serve the YAML file and, upper-cased, the environment. */
const SETTINGS = {
  name: ['name', 'string'],
  'data-dir': ['dataDir', 'string'],
  'listen-client-urls': ['listenClientUrls', 'urls'],
  'advertise-client-urls': ['advertiseClientUrls', 'urls'],
  'listen-peer-urls': ['listenPeerUrls', 'urls'],
  'initial-advertise-peer-urls': ['initialAdvertisePeerUrls', 'urls'],
  'initial-cluster': ['initialCluster', 'cluster'],
  'initial-cluster-state': ['initialClusterState', 'state'],
  'initial-cluster-token': ['initialClusterToken', 'string'],
  'heartbeat-interval': ['heartbeatIntervalMs', 'int'],
  'election-timeout': ['electionTimeoutMs', 'int'],
  'snapshot-count': ['snapshotCount', 'int'],
  'snapshot-catchup-entries': ['snapshotCatchUpEntries', 'int'],
  'snapshot-log-bytes': ['snapshotLogBytes', 'int'],
  'max-request-bytes': ['maxRequestBytes', 'int'],
  'quota-backend-bytes': ['quotaBackendBytes', 'int'],
  'request-timeout': ['requestTimeoutMs', 'int'],
  'log-level': ['logLevel', 'level'],
  'lease-reads': ['leaseReads', 'bool'],
  'experimental-lease-reads': ['leaseReads', 'bool'],
  'cert-file': ['certFile', 'string'],
  'key-file': ['keyFile', 'string'],
  'trusted-ca-file': ['trustedCaFile', 'string'],
  'client-cert-auth': ['clientCertAuth', 'bool'],
  'peer-cert-file': ['peerCertFile', 'string'],
  'peer-key-file': ['peerKeyFile', 'string'],
  'peer-trusted-ca-file': ['peerTrustedCaFile', 'string'],
  'peer-client-cert-auth': ['peerClientCertAuth', 'bool'],
  'listen-metrics-urls': ['listenMetricsUrls', 'urls'],
} as const;

type SettingName = keyof typeof SETTINGS;

/**
 * etcd's config file nests the TLS settings in two sections; their keys map to the flags
 * (client-transport-security.cert-file is --cert-file, peer-transport-security.cert-file
 * is --peer-cert-file). The flat flag names are accepted in the file as well.
 */
const TLS_SECTIONS: Readonly<Record<string, string>> = {
  'client-transport-security': '',
  'peer-transport-security': 'peer-',
};
const TLS_SECTION_KEYS = ['cert-file', 'key-file', 'trusted-ca-file', 'client-cert-auth'];

/** A bare boolean flag (`--client-cert-auth`) means true, as with etcd's Go flags. */
function expandBareBooleans(argv: readonly string[]): string[] {
  return argv.map((arg, i) => {
    const name = arg.startsWith('--') ? arg.slice(2) : '';
    const setting = SETTINGS[name as SettingName];
    const next = argv[i + 1];
    if (setting?.[1] === 'bool' && next !== 'true' && next !== 'false') return `${arg}=true`;
    return arg;
  });
}

function invalid(setting: string, why: string): CairnError {
  return new CairnError(ErrorCode.INVALID_ARGUMENT, `--${setting}: ${why}`);
}

function parseUrls(setting: string, raw: string): string[] {
  const urls = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (urls.length === 0) throw invalid(setting, 'needs at least one URL');
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw invalid(setting, `"${u}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw invalid(setting, `"${u}" must be http:// or https://`);
    if (!parsed.port) throw invalid(setting, `"${u}" needs an explicit port`);
  }
  return urls;
}

/** Parses "n1=http://a:2380,n2=http://b:2380" (a name may appear several times, one per URL). */
export function parseInitialCluster(raw: string): InitialMember[] {
  const byName = new Map<string, string[]>();
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw invalid('initial-cluster', `"${part}" is not name=url`);
    const name = part.slice(0, eq);
    const url = parseUrls('initial-cluster', part.slice(eq + 1))[0]!;
    const urls = byName.get(name) ?? [];
    urls.push(url);
    byName.set(name, urls);
  }
  if (byName.size === 0) throw invalid('initial-cluster', 'is empty');
  return [...byName].map(([name, peerUrls]) => ({ name, peerUrls }));
}

function convert(setting: SettingName, raw: unknown): unknown {
  const kind = SETTINGS[setting][1];
  const str = Array.isArray(raw) ? raw.join(',') : String(raw);
  switch (kind) {
    case 'string':
      if (str.length === 0) throw invalid(setting, 'must not be empty');
      return str;
    case 'urls':
      return parseUrls(setting, str);
    case 'cluster':
      return parseInitialCluster(str);
    case 'state':
      if (str !== 'new' && str !== 'existing') throw invalid(setting, 'must be "new" or "existing"');
      return str;
    case 'level':
      if (!['debug', 'info', 'warn', 'error'].includes(str))
        throw invalid(setting, 'must be debug, info, warn or error');
      return str;
    case 'bool':
      if (str !== 'true' && str !== 'false') throw invalid(setting, 'must be true or false');
      return str === 'true';
    case 'int': {
      const n = Number(str);
      if (!Number.isSafeInteger(n) || n <= 0) throw invalid(setting, `"${str}" is not a positive integer`);
      return n;
    }
  }
}

/** Where configuration comes from; injectable for tests. */
export interface ConfigSources {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile: (path: string) => string;
}

/** Builds and validates the server configuration from flags, environment and an optional config file. */
export function loadServerConfig(src: ConfigSources): ServerConfig {
  const options: Record<string, { type: 'string' | 'boolean' }> = { 'config-file': { type: 'string' } };
  for (const name of Object.keys(SETTINGS)) options[name] = { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: expandBareBooleans(src.argv),
      options,
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new CairnError(ErrorCode.INVALID_ARGUMENT, (err as Error).message);
  }
  const values: Record<string, unknown> = {};
  const configFile = (parsed.values['config-file'] as string | undefined) ?? src.env.CAIRN_CONFIG_FILE;
  if (configFile) {
    let doc: unknown;
    try {
      doc = parseYaml(src.readFile(configFile));
    } catch (err) {
      throw new CairnError(
        ErrorCode.INVALID_ARGUMENT,
        `--config-file ${configFile}: ${(err as Error).message}`,
      );
    }
    if (doc !== null && typeof doc === 'object') {
      for (const [k, v] of Object.entries(doc)) {
        const prefix = TLS_SECTIONS[k];
        if (prefix !== undefined && v !== null && typeof v === 'object') {
          for (const [sk, sv] of Object.entries(v)) {
            if (!TLS_SECTION_KEYS.includes(sk))
              throw new CairnError(
                ErrorCode.INVALID_ARGUMENT,
                `--config-file ${configFile}: unknown setting "${k}.${sk}"`,
              );
            values[`${prefix}${sk}`] = sv;
          }
          continue;
        }
        if (!(k in SETTINGS))
          throw new CairnError(
            ErrorCode.INVALID_ARGUMENT,
            `--config-file ${configFile}: unknown setting "${k}"`,
          );
        values[k] = v;
      }
    }
  }
  for (const name of Object.keys(SETTINGS)) {
    const envName = `CAIRN_${name.toUpperCase().replaceAll('-', '_')}`;
    const v = src.env[envName];
    if (v !== undefined && v !== '') values[name] = v;
  }
  for (const [k, v] of Object.entries(parsed.values))
    if (k !== 'config-file' && v !== undefined) values[k] = v;

  const out: Record<string, unknown> = { ...SERVER_DEFAULTS };
  for (const [k, v] of Object.entries(values)) {
    const setting = k as SettingName;
    out[SETTINGS[setting][0]] = convert(setting, v);
  }
  const name = out.name as string;
  out.dataDir ??= `${name}.cairn`;
  out.advertiseClientUrls ??= out.listenClientUrls;
  out.initialAdvertisePeerUrls ??= out.listenPeerUrls;
  out.initialCluster ??= [{ name, peerUrls: out.initialAdvertisePeerUrls }];
  const cfg = out as unknown as ServerConfig;
  if (cfg.electionTimeoutMs < 5 * cfg.heartbeatIntervalMs) {
    throw invalid(
      'election-timeout',
      `must be at least 5 times --heartbeat-interval (${cfg.heartbeatIntervalMs} ms)`,
    );
  }
  if (cfg.initialClusterState === 'new' && !cfg.initialCluster.some((m) => m.name === name)) {
    throw invalid('initial-cluster', `does not contain this member's name "${name}"`);
  }
  checkTlsSettings(cfg);
  for (const u of cfg.listenMetricsUrls ?? [])
    if (isHttps(u))
      throw invalid('listen-metrics-urls', `"${u}": only http:// is served (no TLS on the metrics listener)`);
  return cfg;
}

/**
 * The TLS rules etcd applies at startup: a certificate goes with its key, and an https://
 * URL needs them (etcd refuses to start the same way). TLS files next to http:// URLs are
 * not an error: etcd ignores them for those URLs with a warning (see tlsWarnings).
 */
function checkTlsSettings(cfg: ServerConfig): void {
  const together = (certFlag: string, keyFlag: string, cert?: string, key?: string): void => {
    if (cert !== undefined && key === undefined) throw invalid(certFlag, `needs --${keyFlag} as well`);
    if (key !== undefined && cert === undefined) throw invalid(keyFlag, `needs --${certFlag} as well`);
  };
  together('cert-file', 'key-file', cfg.certFile, cfg.keyFile);
  together('peer-cert-file', 'peer-key-file', cfg.peerCertFile, cfg.peerKeyFile);
  const client: [string, readonly string[]][] = [
    ['listen-client-urls', cfg.listenClientUrls],
    ['advertise-client-urls', cfg.advertiseClientUrls],
  ];
  for (const [setting, urls] of client)
    for (const u of urls)
      if (isHttps(u) && cfg.certFile === undefined)
        throw invalid(
          setting,
          `TLS key/cert (--cert-file, --key-file) must be provided for client url ${u} with HTTPS scheme`,
        );
  const peer: [string, readonly string[]][] = [
    ['listen-peer-urls', cfg.listenPeerUrls],
    ['initial-advertise-peer-urls', cfg.initialAdvertisePeerUrls],
  ];
  for (const [setting, urls] of peer)
    for (const u of urls)
      if (isHttps(u) && cfg.peerCertFile === undefined)
        throw invalid(
          setting,
          `TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url ${u} with HTTPS scheme`,
        );
}

/** Whether a URL asks for TLS. */
export function isHttps(url: string): boolean {
  return url.startsWith('https://');
}

/** A TLS setting that a URL ignores: etcd's warning text (constant) and the URL. */
export interface TlsWarning {
  readonly message: string;
  readonly url: string;
}

/**
 * etcd's startup warnings for TLS settings that a URL ignores: key and cert files, or
 * client-cert-auth, next to an http:// URL. The server logs each one and starts.
 */
export function tlsWarnings(cfg: ServerConfig): TlsWarning[] {
  const out: TlsWarning[] = [];
  const check = (urls: readonly string[], hasFiles: boolean, auth: boolean, authFlag: string): void => {
    for (const url of urls) {
      if (isHttps(url)) continue;
      if (hasFiles)
        out.push({
          url,
          message: 'scheme is HTTP while key and cert files are present; ignoring key and cert files',
        });
      if (auth)
        out.push({
          url,
          message: `scheme is HTTP while --${authFlag} is enabled; ignoring client cert auth for this URL`,
        });
    }
  };
  check(cfg.listenClientUrls, cfg.certFile !== undefined, cfg.clientCertAuth, 'client-cert-auth');
  check(cfg.listenPeerUrls, cfg.peerCertFile !== undefined, cfg.peerClientCertAuth, 'peer-client-cert-auth');
  return out;
}
