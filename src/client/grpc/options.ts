/**
 * The channel-option keys through which a grpc-js channel hands the Cairn resolver and load
 * balancer what they need. Every key starts with grpc-js's SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX,
 * so none of them reaches the subchannels (whose pool compares options by value: an object
 * there would split the pool and reconnect on every update).
 */
import type { Balancer } from '../balancers/types.js';
import type { ServiceView, ServiceViewOptions } from '../service-view.js';

const PREFIX = 'grpc.internal.no_subchannel.cairn';

/** Channel option: the ViewSource (a Client) the resolver subscribes through. */
export const CLIENT_OPTION = `${PREFIX}.client`;
/** Channel option: a factory of the Balancer the load balancer delegates picks to. */
export const BALANCER_OPTION = `${PREFIX}.balancer`;
/** Resolver attribute: the ServiceInstances behind the endpoints of a resolution. */
export const INSTANCES_ATTRIBUTE = `${PREFIX}.instances`;

/** The name the load-balancing policy is registered under (used in service configs). */
export const CAIRN_LB_POLICY = 'cairn_balancer';

/** The URI scheme of the resolver: `cairn:///<service>`. */
export const CAIRN_SCHEME = 'cairn';

/** Call metadata whose value hashing balancers (ring hash, Maglev, IP hash) place the call by. */
export const BALANCER_KEY_HEADER = 'cairn-balancer-key';

/** What the resolver needs of a Client: a way to subscribe to a service. */
export interface ViewSource {
  /** Subscribes to a service's live instances. */
  readonly registry: { subscribe(service: string, options?: ServiceViewOptions): ServiceView };
}

/** Makes the Balancer a channel's picks go through; called once per load balancer instance. */
export type BalancerFactory = () => Balancer;

/** A balancer that counts calls in flight (least connections): the picker brackets each call with begin/end. */
export interface CallTracking {
  /** A call to instance `id` started. */
  begin(id: string): void;
  /** A call to instance `id` ended. */
  end(id: string): void;
}

/** Whether a balancer wants calls bracketed with begin/end. */
export function tracksCalls(b: Balancer): b is Balancer & CallTracking {
  const t = b as Partial<CallTracking>;
  return typeof t.begin === 'function' && typeof t.end === 'function';
}
