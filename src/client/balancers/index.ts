/** The client-side balancers: every policy, the decorators, the shared types and the factory. */
export * from './factory.js';
export * from './hash.js';
export * from './in-flight.js';
export * from './ip-hash.js';
export { LeastConnectionsBalancer, type LeastConnectionsOptions } from './least-connections.js';
export * from './least-load.js';
export * from './maglev.js';
export * from './outlier-ejection.js';
export * from './power-of-two.js';
export * from './random.js';
export * from './ring-hash.js';
export * from './round-robin.js';
export * from './slow-start.js';
export * from './smooth-weighted.js';
export * from './types.js';
export * from './weighted-random.js';
