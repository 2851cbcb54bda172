/**
 * Waiting helpers the recipes and the CoordinationKv implementations share: an abort
 * controller tied to a parent signal, and "wait for the key's DELETE" built on a watch.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { EventType } from '../mvcc/index.js';
import type { CoordinationKv } from './ports.js';

/** The error an aborted wait rejects with. */
export function cancelled(): CairnError {
  return new CairnError(ErrorCode.CANCELLED, 'the wait was cancelled');
}

/** An AbortController that aborts when parent does; dispose() detaches it from parent (call it, or it leaks). */
export function childAbort(parent: AbortSignal): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  return {
    controller,
    dispose: () => {
      parent.removeEventListener('abort', onAbort);
      controller.abort();
    },
  };
}

/**
 * CoordinationKv.waitDelete over CoordinationKv.watch: resolves with the revision of the
 * first DELETE of key at or after fromRevision; rejects with CANCELLED on abort.
 */
export async function waitDeleteByWatch(
  watch: CoordinationKv['watch'],
  key: Uint8Array,
  fromRevision: number,
  signal: AbortSignal,
): Promise<number> {
  const { controller, dispose } = childAbort(signal);
  try {
    for await (const batch of watch({ key }, fromRevision, controller.signal)) {
      if (batch.events.some((e) => e.type === EventType.Delete)) return batch.revision;
    }
    throw cancelled();
  } finally {
    dispose();
  }
}
