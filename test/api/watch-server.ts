/**
 * A WatchService served over real gRPC on a free loopback port, with a client of etcd's Watch
 * service, for the Watch tests; close() ends all of it.
 */
import * as grpc from '@grpc/grpc-js';
import { serviceDefinitions } from '../../src/api/definitions.js';
import type { WireHeader } from '../../src/api/header.js';
import { WatchService, type WatchServiceOptions } from '../../src/api/watch-service.js';
import type { WireWatchResponse } from '../../src/api/watch-wire.js';
import { silentLogger } from '../../src/common/logger.js';
import { etcdServices } from '../../src/common/proto-loader.js';
import type { WatchHub } from '../../src/mvcc/index.js';

/** The served service, a way to open client streams, and the teardown. */
export interface WatchServer {
  readonly service: WatchService;
  /** Opens a Watch stream from the client. */
  open(): grpc.ClientDuplexStream<unknown, WireWatchResponse>;
  close(): Promise<void>;
}

/** Serves `hub` with headers from `header`; the service options default to a 1 MiB request limit. */
export async function startWatchServer(
  hub: WatchHub,
  header: () => WireHeader,
  options: Partial<WatchServiceOptions> = {},
): Promise<WatchServer> {
  const service = new WatchService(hub, header, { maxRequestBytes: 1024 * 1024, ...options }, silentLogger());
  const server = new grpc.Server();
  server.addService(serviceDefinitions().watch, service.handlers());
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const client = new (etcdServices().Watch)(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    service,
    open: () =>
      (client as unknown as { Watch(): grpc.ClientDuplexStream<unknown, WireWatchResponse> }).Watch(),
    async close() {
      client.close();
      service.close();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
    },
  };
}
