/**
 * The grpc-js load-balancing policy `cairn_balancer`: it keeps one connection (a grpc-js
 * LeafLoadBalancer, pick-first over one endpoint) per resolved instance, kept connected like
 * round_robin does, and answers picks with a CairnPicker over the READY ones, so the choice
 * is made by one of the SDK's Balancers (round robin unless the channel options give a
 * factory). An update keeps the connections of instances that stay and drops those that left
 * (a DRAINING or deregistered instance gets no new call once the resolver reports it gone).
 */
import * as grpc from '@grpc/grpc-js';
import { RoundRobinBalancer } from '../balancers/round-robin.js';
import type { Balancer, Instance } from '../balancers/types.js';
import { BALANCER_OPTION, type BalancerFactory, CAIRN_LB_POLICY, INSTANCES_ATTRIBUTE } from './options.js';
import { CairnPicker } from './picker.js';

const ConnectivityState = grpc.connectivityState;
type Endpoint = grpc.experimental.Endpoint;
type LeafLoadBalancer = grpc.experimental.LeafLoadBalancer;

/** The (empty) config of the cairn_balancer policy in a service config: `{ "cairn_balancer": {} }`. */
export class CairnLoadBalancingConfig implements grpc.experimental.TypedLoadBalancingConfig {
  /** The policy's registered name, `cairn_balancer`. */
  getLoadBalancerName(): string {
    return CAIRN_LB_POLICY;
  }

  /** The config as a service config lists it. */
  toJsonObject(): object {
    return { [CAIRN_LB_POLICY]: {} };
  }

  /** Parses the policy's JSON config (it has no fields). */
  static createFromJson(_obj: unknown): CairnLoadBalancingConfig {
    return new CairnLoadBalancingConfig();
  }
}

interface Child {
  readonly leaf: LeafLoadBalancer;
  readonly address: string;
  instance: Instance;
}

function addressOf(endpoint: Endpoint): string {
  const first = endpoint.addresses[0];
  return first ? grpc.experimental.subchannelAddressToString(first) : '';
}

/** Balances a channel's calls over the resolved instances with one of the SDK's Balancers. */
export class CairnLoadBalancer implements grpc.experimental.LoadBalancer {
  /** Connections by address. */
  private readonly children = new Map<string, Child>();
  private readonly childHelper: grpc.experimental.ChannelControlHelper;
  private balancer: Balancer | undefined;
  private state: grpc.connectivityState = ConnectivityState.IDLE;
  private updatesPaused = false;
  private lastError: string | null = null;

  constructor(private readonly helper: grpc.experimental.ChannelControlHelper) {
    this.childHelper = grpc.experimental.createChildChannelControlHelper(helper, {
      updateState: (_state, _picker, errorMessage) => {
        if (errorMessage) this.lastError = errorMessage;
        this.recompute();
      },
    });
  }

  /** Takes a new resolution: keeps the connections of instances that stay, drops those that left, connects to newcomers. */
  updateAddressList(
    endpoints: grpc.experimental.StatusOr<Endpoint[]>,
    config: grpc.experimental.TypedLoadBalancingConfig,
    options: grpc.ChannelOptions,
    resolutionNote: string,
  ): boolean {
    if (!(config instanceof CairnLoadBalancingConfig)) return false;
    if (!endpoints.ok) {
      if (this.children.size === 0) {
        this.setState(
          ConnectivityState.TRANSIENT_FAILURE,
          new grpc.experimental.UnavailablePicker(endpoints.error),
          endpoints.error.details,
        );
      }
      return true;
    }
    this.balancer ??= (
      (options[BALANCER_OPTION] as BalancerFactory | undefined) ?? (() => new RoundRobinBalancer())
    )();
    const described = new Map<string, Instance>();
    for (const i of (options[INSTANCES_ATTRIBUTE] as readonly Instance[] | undefined) ?? [])
      described.set(i.address, i);
    const wanted = new Map<string, Endpoint>();
    for (const e of endpoints.value) wanted.set(addressOf(e), e);
    this.updatesPaused = true;
    for (const [address, child] of this.children) {
      if (!wanted.has(address)) {
        child.leaf.destroy();
        this.children.delete(address);
      }
    }
    for (const [address, endpoint] of wanted) {
      // An endpoint another resolver gave (no registry record): a SERVING instance named by its address.
      const instance = described.get(address) ?? { id: address, address, state: 'SERVING' as const };
      const existing = this.children.get(address);
      if (existing) {
        existing.instance = instance;
        continue;
      }
      const leaf = new grpc.experimental.LeafLoadBalancer(
        endpoint,
        this.childHelper,
        options,
        resolutionNote,
      );
      this.children.set(address, { leaf, address, instance });
      leaf.startConnecting();
    }
    this.updatesPaused = false;
    if (this.children.size === 0) {
      const details = `cairn_balancer: no SERVING instance (${resolutionNote})`;
      this.setState(
        ConnectivityState.TRANSIENT_FAILURE,
        new grpc.experimental.UnavailablePicker({ details }),
        details,
      );
      return true;
    }
    this.recompute();
    return true;
  }

  /** Publishes the picker for the children's current states and keeps every child connecting. */
  private recompute(): void {
    if (this.updatesPaused || this.children.size === 0) return;
    const all = [...this.children.values()];
    const ready = all.filter((c) => c.leaf.getConnectivityState() === ConnectivityState.READY);
    if (ready.length > 0 && this.balancer) {
      this.balancer.update(ready.map((c) => c.instance));
      const pickers = new Map(ready.map((c) => [c.address, c.leaf.getPicker()] as const));
      this.setState(ConnectivityState.READY, new CairnPicker(this.balancer, pickers), null);
    } else if (all.some((c) => c.leaf.getConnectivityState() === ConnectivityState.CONNECTING)) {
      this.setState(ConnectivityState.CONNECTING, new grpc.experimental.QueuePicker(this), null);
    } else if (all.some((c) => c.leaf.getConnectivityState() === ConnectivityState.TRANSIENT_FAILURE)) {
      const details = `cairn_balancer: no connection established; last error: ${this.lastError}`;
      this.setState(
        ConnectivityState.TRANSIENT_FAILURE,
        new grpc.experimental.UnavailablePicker({ details }),
        details,
      );
    } else {
      this.setState(ConnectivityState.IDLE, new grpc.experimental.QueuePicker(this), null);
    }
    for (const c of all) if (c.leaf.getConnectivityState() === ConnectivityState.IDLE) c.leaf.exitIdle();
  }

  private setState(
    state: grpc.connectivityState,
    picker: grpc.experimental.Picker,
    errorMessage: string | null,
  ): void {
    // Connections were lost: let the resolver know (it answers from its live view).
    if (this.state === ConnectivityState.READY && state !== ConnectivityState.READY)
      this.helper.requestReresolution();
    this.state = state;
    this.helper.updateState(state, picker, errorMessage);
  }

  /** Starts connecting every idle connection. */
  exitIdle(): void {
    for (const c of this.children.values()) c.leaf.exitIdle();
  }

  /** Nothing to reset here: each connection backs off on its own. */
  resetBackoff(): void {
    // The connections' own backoff is reset by the channel.
  }

  /** Closes every connection. */
  destroy(): void {
    for (const c of this.children.values()) c.leaf.destroy();
    this.children.clear();
  }

  /** The policy's name, `cairn_balancer`. */
  getTypeName(): string {
    return CAIRN_LB_POLICY;
  }
}
