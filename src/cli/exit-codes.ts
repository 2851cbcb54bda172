/**
 * cairnctl's exit codes — a contract scripts rely on, printed by `cairnctl help` — and the
 * translation of any failure into one of them with a message that says what to do.
 */
import { ClientError, ErrorCode } from '../client/errors.js';

/** Exit codes of cairnctl. */
export const ExitCode = {
  /** Done. */
  OK: 0,
  /** The cluster refused the operation, or a txn's comparisons did not hold (its failure branch ran). */
  FAILED: 1,
  /** Bad command line: unknown command or flag, missing or malformed argument. */
  USAGE: 2,
  /** What was asked for does not exist (get --require of a missing key, unknown lease, member, lock, txn record). */
  NOT_FOUND: 3,
  /** No endpoint could be reached. */
  UNREACHABLE: 4,
  /** TLS failed: certificate not trusted, or one side speaks TLS and the other does not. */
  TLS: 5,
  /** The command did not finish within --command-timeout. */
  TIMEOUT: 6,
  /** A snapshot file failed its integrity check (snapshot restore): nothing was written. */
  DAMAGED: 7,
  /** Interrupted (SIGINT) before it finished. */
  INTERRUPTED: 130,
} as const;

/** The help text's table of exit codes. */
export const EXIT_CODES_HELP = `Exit codes:
  0    ok (a watch, keep-alive, elect, members watch/register or txn-records watch
       ended by SIGINT or --count also exits 0)
  1    operation failed: the cluster refused it, or a txn's compares did not hold
       (the failure branch ran and its results are printed); a held lock or
       leadership (elect) was lost
  2    usage error (unknown command or flag, bad argument)
  3    not found: get --require of a missing key, unknown lease, member or lock,
       txn-records get of an unknown transaction
  4    cannot reach any endpoint
  5    TLS error (untrusted certificate, or TLS on one side only)
  6    timeout (--command-timeout)
  7    snapshot restore: the file is damaged (SHA-256 or layout); nothing was written
  130  interrupted by SIGINT
  lock NAME -- CMD exits with CMD's own exit code once it ran.`;

/** A failure the CLI itself detects, with its exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A command-line mistake (exit 2). */
export class UsageError extends CliError {
  constructor(
    message: string,
    /** The command whose usage to point at. */
    readonly command?: string,
  ) {
    super(ExitCode.USAGE, message);
  }
}

const NOT_FOUND_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.KEY_NOT_FOUND,
  ErrorCode.LEASE_NOT_FOUND,
  ErrorCode.MEMBER_NOT_FOUND,
  ErrorCode.INSTANCE_NOT_FOUND,
  ErrorCode.TXN_NOT_FOUND,
]);

const TLS_PATTERN =
  /certificate|self[- ]signed|SSL|TLS|wrong version number|packet length too long|handshake|unable to verify|ERR_TLS|Protocol error|Connection dropped|http2 session|unexpected eof/i;

/** What the CLI knows of the connection settings, to explain a failure. */
export interface ConnectionFacts {
  endpoints: readonly string[];
  /** Whether any endpoint is https:// or TLS files were given. */
  tls: boolean;
  /** Whether --cacert was given. */
  caGiven: boolean;
  /** Plain (not https://) endpoints found to answer a TLS handshake after they could not be reached (tls-probe.ts). */
  tlsOnly?: readonly string[];
  timeoutMs: number;
}

/** The exit code and a helpful message for a failure. */
export function explain(err: unknown, facts: ConnectionFacts): { exitCode: number; message: string } {
  if (err instanceof CliError) return { exitCode: err.exitCode, message: err.message };
  if (!(err instanceof ClientError)) {
    return { exitCode: ExitCode.FAILED, message: err instanceof Error ? err.message : String(err) };
  }
  const list = facts.endpoints.join(',');
  const connectionTrouble =
    err.code === ErrorCode.CONNECTION_FAILED ||
    err.code === ErrorCode.CONNECTION_LOST ||
    (err.code === ErrorCode.TIMEOUT && /connect|LB pick|Waiting/i.test(err.message));
  if (connectionTrouble && TLS_PATTERN.test(err.message)) {
    const hint = facts.tls
      ? facts.caGiven
        ? 'check that --cacert is the CA that signed the servers\u2019 certificates, and that the servers speak TLS'
        : 'the servers\u2019 certificates are not trusted: pass --cacert with the cluster\u2019s CA (and --cert/--key if it checks client certificates)'
      : 'the servers seem to speak TLS: use https:// endpoints and --cacert (and --cert/--key)';
    return {
      exitCode: ExitCode.TLS,
      message: `TLS error talking to ${list}: ${err.message}\n  hint: ${hint}`,
    };
  }
  const tlsOnly = facts.tlsOnly ?? [];
  if (connectionTrouble && tlsOnly.length > 0) {
    return {
      exitCode: ExitCode.TLS,
      message: `TLS mismatch: ${tlsOnly.join(',')} speak${tlsOnly.length === 1 ? 's' : ''} TLS, but the endpoints were given without https://\n  hint: use https:// endpoints and --cacert with the cluster\u2019s CA (and --cert/--key if it checks client certificates)`,
    };
  }
  if (connectionTrouble) {
    return {
      exitCode: ExitCode.UNREACHABLE,
      message: `cannot reach any of ${list}: is the cluster running? (npm start)${facts.tls ? '' : '\n  hint: if the cluster runs with TLS (npm run start:tls), use https:// endpoints and --cacert'}\n  last error: ${err.message}`,
    };
  }
  if (err.code === ErrorCode.LOCK_WAIT_TIMEOUT) {
    return {
      exitCode: ExitCode.TIMEOUT,
      message: `gave up waiting in line for the lock (--wait): ${err.message}`,
    };
  }
  if (err.code === ErrorCode.TIMEOUT_DUE_TO_LEADER_FAIL) {
    return {
      exitCode: ExitCode.TIMEOUT,
      message: `the leader changed before the request was applied; it may or may not have happened: ${err.message}`,
    };
  }
  if (err.code === ErrorCode.TIMEOUT) {
    return {
      exitCode: ExitCode.TIMEOUT,
      message: `timed out after ${facts.timeoutMs} ms (raise --command-timeout): ${err.message}`,
    };
  }
  if (NOT_FOUND_CODES.has(err.code)) return { exitCode: ExitCode.NOT_FOUND, message: err.message };
  if (err.code === ErrorCode.CANCELLED) return { exitCode: ExitCode.INTERRUPTED, message: 'interrupted' };
  return { exitCode: ExitCode.FAILED, message: `${err.message} (${err.code})` };
}
