#!/usr/bin/env node
/**
 * The composition root: configuration -> storage -> node -> API -> listen. Flags are
 * etcd's (`cairn --name n1 --initial-cluster ...`), or a YAML file, or CAIRN_* variables.
 */
import { readFileSync } from 'node:fs';
import { startServer } from './api/server.js';
import { loadServerConfig } from './common/config.js';
import { isCairnError } from './common/errors.js';
import { capHeapGrowth } from './common/heap-growth.js';
import { createRootLogger } from './common/logger.js';
import { installClockOffsetFromEnv } from './node/fault-hooks.js';

const HELP = `cairn: a Raft-replicated coordination service, wire-compatible with etcd's v3 API

usage: cairn [flags]   (flags are etcd's where the meaning is the same)
  --name, --data-dir, --listen-client-urls, --advertise-client-urls, --listen-peer-urls,
  --initial-advertise-peer-urls, --initial-cluster, --initial-cluster-state,
  --initial-cluster-token, --heartbeat-interval (ms), --election-timeout (ms),
  --snapshot-count, --max-request-bytes, --quota-backend-bytes, --request-timeout (ms),
  --log-level, --config-file (YAML with the same keys); CAIRN_<FLAG> environment variables.
  Cairn's own: --snapshot-catchup-entries (default 5000), --snapshot-log-bytes (a snapshot also
  once the log grew by this many bytes, and at most half as many kept behind it; default 64 MiB),
  --lease-reads (default true: the leader answers linearizable reads under its lease; false:
  a ReadIndex round each, as etcd does).
  TLS (https:// URLs need them): --cert-file, --key-file, --trusted-ca-file, --client-cert-auth,
  --peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth.`;

async function main(): Promise<void> {
  // A test hook (a jumping wall clock for test/chaos), inert unless its environment variable is set.
  installClockOffsetFromEnv();
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  let config: ReturnType<typeof loadServerConfig>;
  try {
    config = loadServerConfig({ argv, env: process.env, readFile: (p) => readFileSync(p, 'utf8') });
  } catch (err) {
    console.error(`cairn: ${(err as Error).message}`);
    process.exit(2);
  }
  const logger = createRootLogger({
    name: config.name,
    level: config.logLevel,
    pretty: process.env.CAIRN_LOG_PRETTY === '1' || undefined,
  });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, logger);
  } catch (err) {
    logger.fatal({ err }, isCairnError(err) ? 'cannot start' : 'cannot start: unexpected error');
    console.error(`cairn: cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
  capHeapGrowth();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    server.stop().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  void server.stoppedItself.then((reason) => {
    if (stopping) return;
    stopping = true;
    console.error(`cairn: stopped: ${reason}`);
    process.exit(0);
  });
  void server.failed.then((err) => {
    if (stopping) return;
    stopping = true;
    console.error(`cairn: stopped: ${err.message}`);
    process.exit(1);
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error) => {
  console.error(`cairn: ${err.stack ?? err.message}`);
  process.exit(1);
});
