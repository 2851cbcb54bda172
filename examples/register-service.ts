/**
 * A service instance that registers itself, so that gateways always route to live ones.
 *
 *   npx tsx examples/register-service.ts ledger-1      # serve and register; Ctrl-C deregisters
 *
 * It serves the toy ledger service on a free port and registers `payments-ledger/<id>` with
 * its address, bound to a lease the SDK keeps alive. If the lease is lost (a partition longer
 * than the TTL), the SDK registers it again on a new lease. On SIGINT/SIGTERM it drains (new
 * calls go elsewhere), deregisters and exits; if it is killed instead, the lease runs out and
 * the registry drops it within the TTL.
 */
import * as grpc from '@grpc/grpc-js';
import { Client } from '../src/client/index.js';
import { exampleEndpoints, isMain } from './endpoints.js';
import { type BalanceReply, type BalanceRequest, LEDGER_SERVICE } from './ledger-service.js';

/** Serves the ledger on 127.0.0.1:<free port>; answers the address and a stop function. */
export async function serveLedger(instance: string): Promise<{ address: string; stop(): Promise<void> }> {
  const server = new grpc.Server();
  server.addService(LEDGER_SERVICE, {
    Balance(
      call: grpc.ServerUnaryCall<BalanceRequest, BalanceReply>,
      callback: grpc.sendUnaryData<BalanceReply>,
    ) {
      callback(null, { account: call.request.account, balance: 100, instance });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

async function main(): Promise<void> {
  const id = process.argv[2] ?? `ledger-${process.pid}`;
  const client = new Client({ endpoints: exampleEndpoints() });
  const ledger = await serveLedger(id);
  const registration = await client.registry.register(
    { service: 'payments-ledger', id, address: ledger.address, weight: 1 },
    { ttlSeconds: 5 },
  );
  registration.on('lost', () => console.error(`${id}: registration lost; registering again`));
  registration.on('restored', () => console.error(`${id}: registered again`));
  console.log(`${id} serving payments-ledger on ${ledger.address}`);
  const stop = async () => {
    await registration.setState('DRAINING');
    await registration.deregister();
    await ledger.stop();
    await client.close();
    console.log(`${id} deregistered`);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (isMain(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
