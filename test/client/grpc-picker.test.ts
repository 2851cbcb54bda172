/**
 * Proves the pure parts of the grpc-js integration without a channel: the resolver turns a
 * view into endpoints of SERVING instances only (one per address, newest record first,
 * unusable addresses skipped), and the picker lets the Balancer choose, passes the
 * `cairn-balancer-key` metadata to hashing balancers, brackets each started call with
 * begin/end for balancers that count calls in flight, and fails a pick cleanly when nothing
 * is eligible. Child pickers are fakes that return a COMPLETE pick naming their address.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { InFlightCounter, LeastConnectionsBalancer } from '../../src/client/balancers/least-connections.js';
import { RingHashBalancer } from '../../src/client/balancers/ring-hash.js';
import { RoundRobinBalancer } from '../../src/client/balancers/round-robin.js';
import type { Instance } from '../../src/client/balancers/types.js';
import { BALANCER_KEY_HEADER } from '../../src/client/grpc/options.js';
import { CairnPicker } from '../../src/client/grpc/picker.js';
import { endpointsOf } from '../../src/client/grpc/resolver.js';
import type { ServiceInstance } from '../../src/client/registry-types.js';

const { PickResultType } = grpc.experimental;

function instance(
  id: string,
  address: string,
  state: Instance['state'] = 'SERVING',
  rev = 1,
): ServiceInstance {
  return {
    service: 'svc',
    id,
    address,
    state,
    weight: 1,
    metadata: {},
    lease: 1,
    registeredAtRevision: rev,
    updatedAtRevision: rev,
  };
}

/** A child picker whose COMPLETE pick carries its address as the "subchannel" and counts its hooks. */
function childPicker(address: string, hooks: string[]): grpc.experimental.Picker {
  return {
    pick: () => ({
      pickResultType: PickResultType.COMPLETE,
      subchannel: address as unknown as grpc.experimental.SubchannelInterface,
      status: null,
      onCallStarted: () => hooks.push(`started ${address}`),
      onCallEnded: () => hooks.push(`ended ${address}`),
    }),
  };
}

function args(key?: string): grpc.experimental.PickArgs {
  const metadata = new grpc.Metadata();
  if (key !== undefined) metadata.set(BALANCER_KEY_HEADER, key);
  return { metadata, extraPickInfo: {} };
}

describe('endpointsOf', () => {
  it('keeps SERVING instances with a host:port, one per address (the newest record)', () => {
    const { endpoints, instances } = endpointsOf([
      instance('a', '10.0.0.1:50051'),
      instance('b', '10.0.0.2:50051', 'DRAINING'),
      instance('c', '10.0.0.3:50051', 'DOWN'),
      instance('d', 'no-port'),
      instance('e', '10.0.0.1:50051', 'SERVING', 9),
      instance('f', '[::1]:7000'),
    ]);
    expect(instances.map((i) => i.id)).toEqual(['e', 'f']);
    expect(endpoints).toEqual([
      { addresses: [{ host: '10.0.0.1', port: 50051 }] },
      { addresses: [{ host: '::1', port: 7000 }] },
    ]);
  });
});

describe('CairnPicker', () => {
  const a = instance('a', '10.0.0.1:1');
  const b = instance('b', '10.0.0.2:1');
  const c = instance('c', '10.0.0.3:1');

  it('lets the balancer choose and answers that instance’s pick', () => {
    const hooks: string[] = [];
    const balancer = new RoundRobinBalancer({ random: () => 0 });
    balancer.update([a, b, c]);
    const picker = new CairnPicker(
      balancer,
      new Map([a, b, c].map((i) => [i.address, childPicker(i.address, hooks)])),
    );
    const picked = Array.from({ length: 6 }, () => picker.pick(args()).subchannel as unknown as string);
    expect(picked).toEqual([
      '10.0.0.1:1',
      '10.0.0.2:1',
      '10.0.0.3:1',
      '10.0.0.1:1',
      '10.0.0.2:1',
      '10.0.0.3:1',
    ]);
  });

  it('places calls by the cairn-balancer-key metadata for hashing balancers', () => {
    const balancer = new RingHashBalancer();
    balancer.update([a, b, c]);
    const picker = new CairnPicker(
      balancer,
      new Map([a, b, c].map((i) => [i.address, childPicker(i.address, [])])),
    );
    for (const key of ['acct-1', 'acct-2', 'acct-3']) {
      const owner = balancer.pick(key)?.address;
      for (let n = 0; n < 5; n++) expect(picker.pick(args(key)).subchannel).toBe(owner);
    }
  });

  it('brackets each started call with begin/end for least connections, keeping the child’s hooks', () => {
    const hooks: string[] = [];
    const counter = new InFlightCounter();
    const balancer = new LeastConnectionsBalancer({ counter, random: () => 0 });
    balancer.update([a]);
    const picker = new CairnPicker(balancer, new Map([[a.address, childPicker(a.address, hooks)]]));
    const first = picker.pick(args());
    const second = picker.pick(args());
    expect(counter.get('a')).toBe(0);
    first.onCallStarted?.();
    second.onCallStarted?.();
    expect(counter.get('a')).toBe(2);
    first.onCallEnded?.(grpc.status.OK, '', new grpc.Metadata());
    expect(counter.get('a')).toBe(1);
    second.onCallEnded?.(grpc.status.UNAVAILABLE, 'gone', new grpc.Metadata());
    expect(counter.get('a')).toBe(0);
    expect(hooks).toEqual([
      'started 10.0.0.1:1',
      'started 10.0.0.1:1',
      'ended 10.0.0.1:1',
      'ended 10.0.0.1:1',
    ]);
  });

  it('fails the pick with UNAVAILABLE when no instance is eligible', () => {
    const balancer = new RoundRobinBalancer();
    balancer.update([{ ...a, weight: 0 }]);
    const r = new CairnPicker(balancer, new Map([[a.address, childPicker(a.address, [])]])).pick(args());
    expect(r.pickResultType).toBe(PickResultType.TRANSIENT_FAILURE);
    expect(r.status?.code).toBe(grpc.status.UNAVAILABLE);
  });
});
