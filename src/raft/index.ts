/** The raft core's public API: what storage, transport, node and the simulator may use. */

export { decodeConfChange, encodeConfChange } from './confchange-codec.js';
export { type Prng, RAFT_DEFAULTS, type RaftConfig, type RaftLogger, ReadOnlyOption } from './config.js';
export { type RaftStatus, RawNode } from './raw-node.js';
export { leaderMaySendBeforePersist } from './ready-rules.js';
export { entrySizeBytes, MemoryStorage, type Storage } from './storage.js';
export * from './types.js';
