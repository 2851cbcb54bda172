/**
 * The membership workload: registrars register instances of one service (on 3 s leases the
 * SDK keeps alive and re-registers after a loss), change their state and deregister them,
 * while subscribers keep live views (ServiceView) and record every change they see. After
 * the faults, reconcile() re-sends any state change whose outcome was unknown, and
 * convergence waits until every view equals a fresh List of the registry.
 */

import type { InstanceState } from '../../../src/client/balancers/types.js';
import type { Client, Registration, ServiceInstance, ServiceView } from '../../../src/client/index.js';
import { SimPrng } from '../../sim/prng.js';
import {
  diffInstances,
  type InstanceView,
  type MembershipHistory,
  type ViewSnapshot,
} from '../checker/membership.js';
import { sleep } from '../cluster.js';

/** The service the registrars register. */
export const CHAOS_SERVICE = 'chaos-svc';
const STATES: readonly InstanceState[] = ['SERVING', 'DRAINING', 'DOWN'];

function viewOf(i: ServiceInstance): InstanceView {
  return { id: i.id, state: i.state, address: i.address };
}

/** One instance a registrar manages. */
interface Slot {
  readonly id: string;
  readonly address: string;
  registration?: Registration | undefined;
  state: InstanceState;
  /** A state change whose outcome is unknown: sent again before the final comparison. */
  dirty: boolean;
  /** What happened to the registration: lost/restored events and the last re-registration error. */
  lost: number;
  restored: number;
  lastError?: string;
}

/** The membership workload: its registrars' slots, subscribers and what they recorded. */
export class MembershipWorkload {
  readonly requested: InstanceView[] = [];
  readonly changes: ViewSnapshot[] = [];
  private readonly slots: Slot[] = [];
  private readonly views: { name: string; view: ServiceView }[] = [];
  failures = 0;

  constructor(
    private readonly clients: readonly Client[],
    private readonly seed: number,
    instances: number,
    subscribers: number,
  ) {
    for (let i = 0; i < instances; i++) {
      this.slots.push({
        id: `i${i}`,
        address: `10.0.0.${i + 1}:8080`,
        state: 'SERVING',
        dirty: false,
        lost: 0,
        restored: 0,
      });
    }
    for (let s = 0; s < subscribers; s++) {
      const name = `sub${s}`;
      const view = clients[s % clients.length]!.registry.subscribe(CHAOS_SERVICE);
      view.on('change', (list) =>
        this.changes.push({
          subscriber: name,
          revision: view.revision,
          atMs: performance.now(),
          instances: list.map(viewOf),
        }),
      );
      view.on('error', () => this.failures++);
      this.views.push({ name, view });
    }
  }

  private client(slot: number): Client {
    return this.clients[slot % this.clients.length]!;
  }

  /** Registers, changes and deregisters instances at random until shouldStop(). */
  async run(shouldStop: () => boolean): Promise<void> {
    const rng = new SimPrng(this.seed ^ 0x3e3);
    while (!shouldStop()) {
      await sleep(100 + rng.nextInt(300));
      const n = rng.nextInt(this.slots.length);
      const slot = this.slots[n]!;
      const state = rng.pick(STATES);
      try {
        if (!slot.registration) {
          slot.state = state;
          this.requested.push({ id: slot.id, state, address: slot.address });
          slot.registration = await this.client(n).registry.register(
            { service: CHAOS_SERVICE, id: slot.id, address: slot.address, state },
            { ttlSeconds: 3 },
          );
          const r = slot.registration;
          r.on('lost', () => slot.lost++);
          r.on('restored', () => slot.restored++);
          r.on('error', (e) => {
            slot.lastError = e.message;
          });
        } else if (rng.chance(0.75)) {
          slot.state = state;
          slot.dirty = true;
          this.requested.push({ id: slot.id, state, address: slot.address });
          await slot.registration.setState(state);
          slot.dirty = false;
        } else {
          const r = slot.registration;
          slot.registration = undefined;
          await r.deregister();
        }
      } catch {
        // Register: a failed one holds no lease the SDK keeps (it runs out). Deregister: the
        // lease is released and runs out. SetState: sent again by reconcile().
        this.failures++;
      }
    }
  }

  /** Sends again every state change whose outcome was unknown. */
  async reconcile(): Promise<void> {
    for (const s of this.slots) {
      if (!s.registration || !s.dirty) continue;
      try {
        await s.registration.setState(s.state);
        s.dirty = false;
      } catch {
        this.failures++;
      }
    }
  }

  private expected(): InstanceView[] {
    return this.slots
      .filter((s) => s.registration !== undefined)
      .map((s) => ({ id: s.id, state: s.state, address: s.address }));
  }

  /**
   * Waits until every view equals a fresh List and the List equals what the registrars hold,
   * or timeoutMs passes; the history as it then stands.
   */
  async converge(reader: Client, timeoutMs: number): Promise<MembershipHistory> {
    const until = performance.now() + timeoutMs;
    let registry: InstanceView[] = [];
    for (;;) {
      await this.reconcile();
      try {
        registry = (await reader.registry.list(CHAOS_SERVICE, { deadlineMs: 3000 })).map(viewOf);
      } catch {
        registry = [];
      }
      const agreed =
        diffInstances(registry, this.expected()) === '' &&
        this.views.every((v) => diffInstances(v.view.instances().map(viewOf), registry) === '');
      if (agreed || performance.now() >= until) break;
      await sleep(250);
    }
    return {
      requested: this.requested,
      changes: this.changes,
      finalViews: this.views.map(({ name, view }) => ({
        subscriber: name,
        revision: view.revision,
        atMs: performance.now(),
        instances: view.instances().map(viewOf),
      })),
      registry,
      expected: this.expected(),
    };
  }

  /** Each registration's fate, for a failure report. */
  describeSlots(): string {
    return this.slots
      .filter((s) => s.registration)
      .map(
        (s) =>
          `${s.id}: registered=${s.registration!.isRegistered} lease=${s.registration!.lease.id.toString(16)} lost=${s.registration!.lease.isLost} lostEvents=${s.lost} restored=${s.restored}${s.lastError ? ` lastError=${s.lastError}` : ''}`,
      )
      .join('; ');
  }

  /** Closes the views. */
  close(): void {
    for (const v of this.views) v.view.close();
  }
}
