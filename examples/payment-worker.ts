/**
 * A payment worker that takes a fenced lock before it moves money.
 *
 *   npx tsx examples/payment-worker.ts acct-42 250     # credit 250 to acct-42
 *
 * Several workers may race for the same account. Each takes the lock
 * `payments/accounts/<id>` and writes the account's balance with its fencing token. The
 * ledger (here a Cairn key, in real life a database) refuses any write whose token is
 * older than one it has already accepted. So a worker that paused past its lease (a long
 * GC, a frozen VM) and "still thinks" it holds the lock cannot overwrite a newer holder's
 * work. The check is one transaction: compare the stored fence, then write the fence and
 * the balance together.
 */
import { Client, op } from '../src/client/index.js';
import { exampleEndpoints, isMain } from './endpoints.js';

/** What one credit did. */
export interface CreditResult {
  account: string;
  fencingToken: number;
  balanceBefore: number;
  balanceAfter: number;
}

/** A fencing token as text that sorts like the number (etcd compares values as bytes). */
function fence(token: number): string {
  return token.toString().padStart(20, '0');
}

/** Credits `amount` to `account` under the account's lock, fenced. */
export async function credit(client: Client, account: string, amount: number): Promise<CreditResult> {
  const balanceKey = `ledger/accounts/${account}/balance`;
  const fenceKey = `ledger/accounts/${account}/fence`;
  return client.withLock(
    `payments/accounts/${account}`,
    async ({ fencingToken, signal }) => {
      const balanceBefore = Number((await client.kv.getText(balanceKey)) ?? '0');
      signal.throwIfAborted(); // the lock was lost while we read: do not write
      const balanceAfter = balanceBefore + amount;
      // The ledger's fence: refuse when a newer token has already written.
      const write = await client.kv
        .txn()
        .if(fenceKey)
        .value('>', fence(fencingToken))
        .success(op.get(fenceKey))
        .failure(op.put(fenceKey, fence(fencingToken)), op.put(balanceKey, String(balanceAfter)))
        .commit();
      if (write.succeeded) throw new Error(`stale fencing token ${fencingToken}: a newer holder wrote first`);
      return { account, fencingToken, balanceBefore, balanceAfter };
    },
    { ttlSeconds: 10, waitTimeoutMs: 30_000, owner: `payment-worker/${process.pid}` },
  );
}

async function main(): Promise<void> {
  const [account = 'acct-42', amount = '100'] = process.argv.slice(2);
  const client = new Client({ endpoints: exampleEndpoints() });
  try {
    const r = await credit(client, account, Number(amount));
    console.log(
      `credited ${amount} to ${r.account} under fencing token ${r.fencingToken}: ${r.balanceBefore} -> ${r.balanceAfter}`,
    );
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
