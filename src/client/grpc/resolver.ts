/**
 * A grpc-js name resolver for `cairn:///<service>`: it subscribes to the service through the
 * channel's Cairn client (a ServiceView) and reports the SERVING instances as endpoints,
 * again on every change, with the instances themselves as a resolution attribute so the
 * `cairn_balancer` policy can balance on weight, zone and load. Nothing is reported before the
 * first snapshot, so early calls wait (until their deadline) rather than fail.
 */
import * as grpc from '@grpc/grpc-js';
import type { ServiceInstance } from '../registry-types.js';
import type { ServiceView } from '../service-view.js';
import { CLIENT_OPTION, INSTANCES_ATTRIBUTE, type ViewSource } from './options.js';

type Endpoint = grpc.experimental.Endpoint;

let defaultSource: ViewSource | undefined;

/** Sets the client channels without a Cairn client option resolve through. */
export function setDefaultViewSource(source: ViewSource | undefined): void {
  defaultSource = source;
}

/** The service a target names: its path without leading slashes (`cairn:///a/b` is service "a/b"). */
export function serviceOfTarget(target: grpc.experimental.GrpcUri): string {
  return target.path.replace(/^\/+/, '');
}

/** SERVING instances as endpoints, one per address (the newest record wins a shared address). */
export function endpointsOf(instances: readonly ServiceInstance[]): {
  endpoints: Endpoint[];
  instances: ServiceInstance[];
} {
  const byAddress = new Map<string, ServiceInstance>();
  for (const i of instances) {
    if (i.state !== 'SERVING') continue;
    const seen = byAddress.get(i.address);
    if (!seen || seen.updatedAtRevision < i.updatedAtRevision) byAddress.set(i.address, i);
  }
  const endpoints: Endpoint[] = [];
  const kept: ServiceInstance[] = [];
  for (const i of byAddress.values()) {
    const hp = grpc.experimental.splitHostPort(i.address);
    if (!hp || hp.port === undefined) continue;
    endpoints.push({ addresses: [{ host: hp.host, port: hp.port }] });
    kept.push(i);
  }
  return { endpoints, instances: kept };
}

/** Resolves `cairn:///<service>` to the live SERVING instances of the service. */
export class CairnResolver implements grpc.experimental.Resolver {
  private readonly service: string;
  private readonly source: ViewSource | undefined;
  private view: ServiceView | undefined;

  constructor(
    target: grpc.experimental.GrpcUri,
    private readonly listener: grpc.experimental.ResolverListener,
    options: grpc.ChannelOptions,
  ) {
    this.service = serviceOfTarget(target);
    this.source = (options[CLIENT_OPTION] as ViewSource | undefined) ?? defaultSource;
  }

  /** The :authority calls carry: the service name, '/' turned into '.'. */
  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    return serviceOfTarget(target).replaceAll('/', '.');
  }

  /** Subscribes on first use; later (a re-resolution request) reports the live view again. */
  updateResolution(): void {
    const view = this.view;
    if (view) {
      // Listener calls must not happen synchronously with updateResolution.
      if (view.revision > 0) setImmediate(() => this.report(view));
      return;
    }
    if (!this.source) {
      setImmediate(() =>
        this.fail(
          'no Cairn client for the cairn resolver: use cairnChannelOptions(client) or registerCairnResolver(client)',
        ),
      );
      return;
    }
    if (this.service === '') {
      setImmediate(() => this.fail('a cairn target names a service: cairn:///<service>'));
      return;
    }
    const next = this.source.registry.subscribe(this.service);
    this.view = next;
    next.on('change', () => this.report(next));
    next.ready().then(
      () => this.report(next),
      (err: Error) => {
        if (this.view === next)
          this.fail(`cairn resolver: subscription to ${this.service} failed: ${err.message}`);
      },
    );
  }

  private report(view: ServiceView): void {
    if (this.view !== view) return;
    const { endpoints, instances } = endpointsOf(view.instances());
    this.listener(
      grpc.experimental.statusOrFromValue(endpoints),
      { [INSTANCES_ATTRIBUTE]: instances },
      null,
      `cairn service ${this.service} at revision ${view.revision}`,
    );
  }

  private fail(details: string): void {
    this.listener(
      grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details }),
      {},
      null,
      details,
    );
  }

  /** Closes the subscription. */
  destroy(): void {
    const view = this.view;
    this.view = undefined;
    view?.close();
  }
}
