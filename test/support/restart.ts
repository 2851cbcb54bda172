/** Restarting a test cluster's member and waiting until it has caught up, for SDK tests that kill members. */
import { Client } from '../../src/client/index.js';
import type { TestCluster } from './cluster.js';
import { eventually } from './eventually.js';

/** Restarts a member and waits until it serves linearizable reads (it has caught up with a leader). */
export async function restartAndWait(cluster: TestCluster, name: string): Promise<void> {
  cluster.startMember(cluster.member(name));
  const only = new Client({ endpoints: cluster.endpoints([name]), deadlineMs: 2000 });
  try {
    await eventually(() => only.kv.get('probe'), 30_000);
  } finally {
    await only.close();
  }
}
