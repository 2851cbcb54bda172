/** Test helper: what a member recovered from its folder, read out as an array. */
import type { RecoveredState, StateMachineEntry } from '../../src/storage/level-storage.js';

/** Reads every recovered state-machine entry (checking each, as a starting member does). */
export async function entriesOf(recovered: RecoveredState): Promise<StateMachineEntry[]> {
  const out: StateMachineEntry[] = [];
  for await (const batch of recovered.stateMachine) out.push(...batch);
  return out;
}
