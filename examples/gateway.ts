/**
 * A gateway that balances calls over the live instances of a service.
 *
 *   npx tsx examples/gateway.ts 30 least_connections    # 30 calls; any createBalancer policy
 *
 * The grpc-js channel's target is `cairn:///payments-ledger`: Cairn's resolver subscribes to
 * the registry and hands the channel the SERVING instances as they come and go; the
 * `cairn_balancer` policy picks one per call with the chosen SDK balancer. Instances that
 * drain, deregister or whose lease runs out stop getting calls within a second.
 */
import * as grpc from '@grpc/grpc-js';
import { type BalancerPolicy, Client, cairnChannelOptions, isBalancerPolicy } from '../src/client/index.js';
import { exampleEndpoints, isMain } from './endpoints.js';
import { balance, LedgerClient } from './ledger-service.js';

/** Makes `calls` calls through the balancer; answers how many each instance served. */
export async function balanceOver(
  client: Client,
  calls: number,
  policy: BalancerPolicy,
): Promise<Record<string, number>> {
  const channel = new LedgerClient(
    'cairn:///payments-ledger',
    grpc.credentials.createInsecure(),
    cairnChannelOptions(client, { policy }),
  );
  try {
    const byInstance: Record<string, number> = {};
    for (let i = 0; i < calls; i++) {
      const reply = await balance(channel, `acct-${i % 7}`);
      byInstance[reply.instance] = (byInstance[reply.instance] ?? 0) + 1;
    }
    return byInstance;
  } finally {
    channel.close();
  }
}

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? '30');
  const policy = process.argv[3] ?? 'round_robin';
  if (!isBalancerPolicy(policy)) throw new Error(`unknown policy ${policy}`);
  const client = new Client({ endpoints: exampleEndpoints() });
  try {
    const byInstance = await balanceOver(client, calls, policy);
    console.log(`${calls} calls with ${policy}: ${JSON.stringify(byInstance)}`);
  } finally {
    await client.close();
  }
}

if (isMain(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
