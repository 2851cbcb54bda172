/**
 * grpc-js integration: call a service registered in Cairn by its name, with the SDK's
 * balancers choosing the instance.
 *
 * ```ts
 * const client = new Client({ endpoints });
 * const ledger = new grpc.Client('cairn:///payments-ledger', grpc.credentials.createInsecure(),
 *   cairnChannelOptions(client, { balancer: () => new LeastConnectionsBalancer() }));
 * ```
 *
 * The `cairn` resolver follows the service through a live ServiceView (SERVING instances
 * only: a DRAINING, DOWN, deregistered or expired instance stops getting new calls as soon as
 * the change reaches the client), and the `cairn_balancer` policy picks among the instances
 * with a ready connection through a Balancer (round robin by default; hashing balancers place
 * a call by its `cairn-balancer-key` metadata; least connections counts each call in flight).
 */

import * as grpc from '@grpc/grpc-js';
import { type BalancerPolicy, createBalancer, isBalancerPolicy } from '../balancers/factory.js';
import { CairnLoadBalancer, CairnLoadBalancingConfig } from './load-balancer.js';
import {
  BALANCER_OPTION,
  type BalancerFactory,
  CAIRN_LB_POLICY,
  CAIRN_SCHEME,
  CLIENT_OPTION,
  type ViewSource,
} from './options.js';
import { CairnResolver, setDefaultViewSource } from './resolver.js';

export { CairnLoadBalancer, CairnLoadBalancingConfig } from './load-balancer.js';
export {
  BALANCER_KEY_HEADER,
  type BalancerFactory,
  CAIRN_LB_POLICY,
  CAIRN_SCHEME,
  type CallTracking,
  type ViewSource,
} from './options.js';
export { CairnPicker } from './picker.js';
export { CairnResolver, endpointsOf } from './resolver.js';

let registered = false;

/** Registers the `cairn` resolver scheme and the `cairn_balancer` policy with grpc-js (idempotent). */
export function registerCairnGrpc(): void {
  if (registered) return;
  grpc.experimental.registerResolver(CAIRN_SCHEME, CairnResolver);
  grpc.experimental.registerLoadBalancerType(CAIRN_LB_POLICY, CairnLoadBalancer, CairnLoadBalancingConfig);
  registered = true;
}

/**
 * Registers the resolver and policy, and makes `client` the one that `cairn:///<service>`
 * channels without {@link cairnChannelOptions} resolve through (grpc-js's default policy,
 * pick_first, applies to them unless their service config names `cairn_balancer`).
 *
 * @param client - the Cairn client (anything with `registry.subscribe`); undefined unsets it
 */
export function registerCairnResolver(client: ViewSource | undefined): void {
  registerCairnGrpc();
  setDefaultViewSource(client);
}

/** What cairnChannelOptions takes. */
export interface CairnChannelOptions {
  /**
   * Makes the Balancer each channel's picks go through (called once per channel); default
   * round robin. Any SDK Balancer fits, e.g. `() => new LeastConnectionsBalancer()`.
   */
  balancer?: BalancerFactory;
  /** The balancing policy by name (createBalancer's names, e.g. 'least_connections'), when no `balancer` is given. */
  policy?: BalancerPolicy;
}

/**
 * Channel options for `new grpc.Client('cairn:///<service>', creds, options)`: the channel
 * resolves the service through `client`'s registry and balances with the `cairn_balancer`
 * policy. Registers the resolver and the policy on first use. Merge your own options in
 * (`{ ...cairnChannelOptions(client), 'grpc.keepalive_time_ms': 10_000 }`).
 *
 * @param client - the Cairn client whose registry the channel subscribes through
 * @param options - the balancer factory (default: round robin)
 * @returns grpc-js ChannelOptions
 */
export function cairnChannelOptions(
  client: ViewSource,
  options: CairnChannelOptions = {},
): grpc.ChannelOptions {
  registerCairnGrpc();
  const out: grpc.ChannelOptions = {
    [CLIENT_OPTION]: client,
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ [CAIRN_LB_POLICY]: {} }] }),
  };
  const policy = options.policy;
  if (options.balancer) out[BALANCER_OPTION] = options.balancer;
  else if (policy !== undefined) {
    if (!isBalancerPolicy(policy)) createBalancer(policy); // throws INVALID_ARGUMENT naming the policy
    out[BALANCER_OPTION] = (() => createBalancer(policy)) satisfies BalancerFactory;
  }
  return out;
}
