/**
 * etcd's v3lockpb.Lock service over the coordination lock recipe: Lock(name, lease) waits
 * until `<name>/<lease hex>` is the oldest key under the name and answers that key; Unlock
 * deletes a key. A client that cancels its Lock call stops the wait and leaves the line.
 */
import { acquireLock, releaseLock } from '../coordination/lock.js';
import type { CoordinationKv } from '../coordination/ports.js';
import {
  cancellableUnary,
  type HeaderAt,
  requiredName,
  type UnaryHandler,
  wireInt,
} from './coordination-wire.js';

// biome-ignore lint/suspicious/noExplicitAny: decoded wire objects
type Wire = any;

/** The handlers of v3lockpb.Lock. */
export function lockHandlers(kv: CoordinationKv, headerAt: HeaderAt): Record<string, UnaryHandler> {
  return {
    Lock: cancellableUnary(async (w: Wire, signal) => {
      const name = requiredName(w.name);
      const lease = wireInt(w.lease, 'lease');
      const held = await acquireLock(kv, name, lease, signal);
      return { header: headerAt(held.header.revision), key: held.key };
    }),
    Unlock: cancellableUnary(async (w: Wire) => {
      const key = requiredName(w.key);
      const header = await releaseLock(kv, key);
      return { header: headerAt(header.revision) };
    }),
  };
}
