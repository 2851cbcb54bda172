/**
 * A two-phase transfer between two account services, decided by Cairn's coordinator.
 *
 *   npx tsx examples/two-phase-transfer.ts 30        # move 30 from bank-a/alice to bank-b/bob
 *
 * Each account service is a Participant: prepare reserves (the debit side refuses when the
 * balance is short, which votes NO), commit applies, abort releases. Their "databases" here
 * are Cairn keys under examples/banks/, written with transactions so that every callback is
 * idempotent, as the participant contract asks: recovery after a crash may run it again.
 * In production the two services are separate processes, and each calls
 * `participant.recover()` when it starts.
 */
import { randomUUID } from 'node:crypto';
import { Client as CairnClient, type Client, op, type Participant } from '../src/client/index.js';
import { exampleEndpoints, isMain } from './endpoints.js';

const root = 'examples/banks';

/** An account service's view of its one account. */
interface Account {
  service: string;
  account: string;
}

function balanceKey(a: Account): string {
  return `${root}/${a.service}/${a.account}/balance`;
}

function keys(a: Account, txnId: string) {
  const base = `${root}/${a.service}/${a.account}`;
  return { balance: balanceKey(a), hold: `${base}/holds/${txnId}`, applied: `${base}/applied/${txnId}` };
}

/** An account service as a participant: a transfer takes `amount` from the `from` account and gives it to the other. */
function accountService(client: Client, a: Account): Participant {
  return client.coordinator.participant(a.service, {
    async prepare(txnId, payload) {
      const k = keys(a, txnId);
      const delta = a.account === payload.from ? -Number(payload.amount) : Number(payload.amount);
      const balance = Number((await client.kv.getText(k.balance)) ?? '0');
      if (balance + delta < 0) return { vote: 'NO', reason: `${a.account} has ${balance}, needs ${-delta}` };
      await client.kv.put(k.hold, String(delta)); // durable before YES
      return 'YES';
    },
    async commit(txnId) {
      const k = keys(a, txnId);
      const hold = await client.kv.getOne(k.hold);
      const current = await client.kv.getOne(k.balance);
      if (!hold) return; // applied before (the hold is gone): nothing to do
      const balance = Number(current?.value.toString() ?? '0') + Number(hold.value.toString());
      // Apply once: only while the hold we read is still there and the balance unchanged.
      await client.kv
        .txn()
        .if(k.hold)
        .modRevision('==', hold.modRevision)
        .if(k.balance)
        .modRevision('==', current?.modRevision ?? 0)
        .success(op.put(k.balance, String(balance)), op.put(k.applied, String(hold.value)), op.delete(k.hold))
        .commit();
    },
    async abort(txnId) {
      await client.kv.delete(keys(a, txnId).hold); // release the reservation, if any
    },
  });
}

/** What a transfer ended with. */
export interface TransferResult {
  txnId: string;
  decision: string;
  balances: Record<string, number>;
}

/** Moves `amount` from bank-a/alice to bank-b/bob through a two-phase commit. */
export async function transfer(client: Client, amount: number): Promise<TransferResult> {
  const alice: Account = { service: 'bank-a', account: 'alice' };
  const bob: Account = { service: 'bank-b', account: 'bob' };
  // Open both accounts the first time (100 for alice) without overwriting later balances.
  await client.kv
    .txn()
    .if(keys(alice, '').balance)
    .version('==', 0)
    .success(op.put(keys(alice, '').balance, '100'))
    .commit();
  const txnId = `transfer-${randomUUID()}`;
  await client.coordinator.begin(txnId, [alice.service, bob.service], {
    timeoutMs: 10_000,
    metadata: { from: 'alice', to: 'bob', amount: String(amount) },
  });
  const [a] = await Promise.all([
    accountService(client, alice).run(txnId),
    accountService(client, bob).run(txnId),
  ]);
  const balanceOf = async (x: Account) => Number((await client.kv.getText(balanceKey(x))) ?? '0');
  return {
    txnId,
    decision: a.decision,
    balances: { 'bank-a/alice': await balanceOf(alice), 'bank-b/bob': await balanceOf(bob) },
  };
}

async function main(): Promise<void> {
  const amount = Number(process.argv[2] ?? '30');
  const client = new CairnClient({ endpoints: exampleEndpoints() });
  try {
    const r = await transfer(client, amount);
    console.log(`${r.txnId}: ${r.decision}; balances ${JSON.stringify(r.balances)}`);
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
