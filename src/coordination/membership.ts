/**
 * The service registry: instances register bound to a lease, set their state, report load
 * and deregister; each write is one Txn over the layout in membership-records.ts that
 * changes the registry record and etcd's naming key together, on the same lease.
 *
 * Every write is a read-modify-write: read the record (and the naming keys it may touch),
 * decide, then a Txn whose compares require each of those keys to be unchanged (same mod
 * revision, 0 for absent). A lost race re-reads and decides again, up to casAttemptsMax
 * times. So SetState, ReportLoad and Deregister act only on a record that exists
 * (INSTANCE_NOT_FOUND otherwise) and never resurrect one a lease expiry just removed.
 *
 * The naming key `<service>/<address>` exists while the instance is SERVING (DRAINING and DOWN
 * remove it, so etcd-based resolvers stop sending it new traffic). It is the instance's if
 * it is bound to the instance's lease: a registration overwrites a naming key of its address
 * left by an older registration (an instance restarted under a new id before its old lease
 * ended), and removals delete the naming key only while it is still the instance's own.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { type Compare, CompareResult, CompareTarget, type KeyValue, type RequestOp } from '../mvcc/index.js';
import {
  checkInstanceId,
  checkRegistration,
  checkService,
  encodeRecord,
  type Instance,
  type InstanceRecord,
  type InstanceState,
  inSelection,
  instanceNotFound,
  invalid,
  parseInstance,
  recordKey,
  recordOf,
  resolverKey,
  resolverValue,
  type ServiceSelection,
  selectionRange,
} from './membership-records.js';
import type { CoordinationKv, CoordinationLeases } from './ports.js';

/** What Register takes. */
export interface RegisterInput {
  readonly service: string;
  readonly instanceId: string;
  readonly address: string;
  /** 0 is taken as 1. */
  readonly weight: number;
  readonly zone: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** A new lease of this TTL; exactly one of ttlSeconds and lease is non-zero. */
  readonly ttlSeconds: number;
  /** An existing lease to bind the records to. */
  readonly lease: number;
  readonly state: InstanceState;
}

/** What Register answers. */
export interface Registered {
  readonly instance: Instance;
  readonly lease: number;
  /** The TTL granted when Register granted the lease; 0 otherwise. */
  readonly ttlSeconds: number;
  readonly revision: number;
}

/** An instance as of a revision. */
export interface InstanceAt {
  readonly instance: Instance;
  readonly revision: number;
}

/** Options of the registry. */
export interface ServiceRegistryOptions {
  /** The clock written into records (registeredAtUnixMs, load reports). */
  readonly nowMs: () => number;
  /** Read-modify-write attempts before MEMBERSHIP_CONFLICT. */
  readonly casAttemptsMax: number;
}

const DEFAULTS: ServiceRegistryOptions = { nowMs: () => Date.now(), casAttemptsMax: 16 };

function modRevisionIs(key: Uint8Array, modRevision: number): Compare {
  return { key, target: CompareTarget.Mod, result: CompareResult.Equal, modRevision };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** What a write decided: the next record (null: delete it) and the lease to bind it to. */
type Decision = { readonly record: InstanceRecord | null; readonly lease: number } | 'unchanged';

interface Current {
  readonly kv: KeyValue;
  /** undefined when the key holds something that is not a record. */
  readonly instance: Instance | undefined;
}

/** The service registry over the coordination KV and leases. */
export class ServiceRegistry {
  private readonly opts: ServiceRegistryOptions;

  constructor(
    private readonly kv: CoordinationKv,
    private readonly leases: CoordinationLeases,
    opts: Partial<ServiceRegistryOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Registers (or re-registers, replacing the record) an instance; grants a lease when ttlSeconds is given. */
  async register(input: RegisterInput): Promise<Registered> {
    checkService(input.service);
    checkInstanceId(input.instanceId);
    checkRegistration(input);
    if (input.ttlSeconds > 0 === (input.lease !== 0))
      throw invalid('exactly one of ttl_seconds and lease must be given');
    let lease = input.lease;
    let ttlSeconds = 0;
    if (input.ttlSeconds > 0) {
      const granted = await this.leases.grant(input.ttlSeconds);
      lease = granted.id;
      ttlSeconds = granted.ttlSeconds;
    }
    const record: InstanceRecord = {
      service: input.service,
      instanceId: input.instanceId,
      address: input.address,
      weight: input.weight === 0 ? 1 : input.weight,
      zone: input.zone,
      metadata: { ...input.metadata },
      state: input.state,
      load: null,
      registeredAtUnixMs: this.opts.nowMs(),
    };
    try {
      const r = await this.rewrite(input.service, input.instanceId, true, () => ({ record, lease }));
      return { instance: r.instance, lease, ttlSeconds, revision: r.revision };
    } catch (err) {
      // A lease granted for this registration and not used would only linger until its TTL.
      if (input.ttlSeconds > 0) await this.leases.revoke(lease).catch(() => {});
      throw err;
    }
  }

  /** Removes an instance's records (INSTANCE_NOT_FOUND if none); the lease is left alone. Answers the revision. */
  async deregister(service: string, instanceId: string): Promise<number> {
    checkService(service);
    checkInstanceId(instanceId);
    const r = await this.rewrite(service, instanceId, true, (cur) => {
      if (!cur) throw instanceNotFound(service, instanceId);
      return { record: null, lease: cur.kv.lease };
    });
    return r.revision;
  }

  /** Sets an instance's state; no write when it already has it. */
  async setState(service: string, instanceId: string, state: InstanceState): Promise<InstanceAt> {
    checkService(service);
    checkInstanceId(instanceId);
    return this.rewrite(service, instanceId, true, (cur) => {
      const i = cur?.instance;
      if (!cur || !i) throw instanceNotFound(service, instanceId);
      if (i.state === state) return 'unchanged';
      return { record: { ...recordOf(i), state }, lease: cur.kv.lease };
    });
  }

  /** Records the load an instance reports (the naming key is left as it is). */
  async reportLoad(
    service: string,
    instanceId: string,
    load: { inFlight: number; cpuUtilization: number },
  ): Promise<InstanceAt> {
    checkService(service);
    checkInstanceId(instanceId);
    if (!Number.isSafeInteger(load.inFlight) || load.inFlight < 0)
      throw invalid('in_flight must be a non-negative integer');
    if (!Number.isFinite(load.cpuUtilization) || load.cpuUtilization < 0)
      throw invalid('cpu_utilization must be a finite non-negative number');
    return this.rewrite(service, instanceId, false, (cur) => {
      const i = cur?.instance;
      if (!cur || !i) throw instanceNotFound(service, instanceId);
      const reported = { ...load, reportedAtUnixMs: this.opts.nowMs() };
      return { record: { ...recordOf(i), load: reported }, lease: cur.kv.lease };
    });
  }

  /** Renews a lease once; LEASE_NOT_FOUND when it has ended. */
  async keepAlive(lease: number): Promise<number> {
    const ttl = await this.leases.renew(lease);
    if (ttl <= 0) throw new CairnError(ErrorCode.LEASE_NOT_FOUND, 'etcdserver: requested lease not found');
    return ttl;
  }

  /** One instance (linearizable); INSTANCE_NOT_FOUND if it is not registered. */
  async get(service: string, instanceId: string): Promise<InstanceAt> {
    checkService(service);
    checkInstanceId(instanceId);
    const r = await this.kv.range({ key: recordKey(service, instanceId) });
    const kv = r.kvs[0];
    const instance = kv ? parseInstance(kv) : undefined;
    if (!instance) throw instanceNotFound(service, instanceId);
    return { instance, revision: r.header.revision };
  }

  /** Every instance of the selection (linearizable), by service then instance id. */
  async list(sel: ServiceSelection): Promise<{ instances: Instance[]; revision: number }> {
    checkSelection(sel);
    const r = await this.kv.range(selectionRange(sel));
    return { instances: instancesOf(sel, r.kvs), revision: r.header.revision };
  }

  /**
   * The read-modify-write behind every write: decide from the record as read, then one Txn
   * that writes the record and brings the naming keys in step, applied only if none of the
   * keys read changed meanwhile. touchesNaming false skips the naming keys (load reports).
   */
  private async rewrite(
    service: string,
    instanceId: string,
    touchesNaming: boolean,
    decide: (cur: Current | undefined) => Decision,
  ): Promise<InstanceAt> {
    const key = recordKey(service, instanceId);
    for (let attempt = 0; attempt < this.opts.casAttemptsMax; attempt++) {
      const read = await this.kv.range({ key });
      const curKv = read.kvs[0];
      const cur = curKv ? { kv: curKv, instance: parseInstance(curKv) } : undefined;
      const decision = decide(cur);
      if (decision === 'unchanged') {
        // decide only answers unchanged for an instance it found.
        return { instance: cur!.instance!, revision: read.header.revision };
      }
      const next = decision.record;
      const compare: Compare[] = [modRevisionIs(key, curKv?.modRevision ?? 0)];
      const success: RequestOp[] = [
        next
          ? { requestPut: { key, value: encodeRecord(next), lease: decision.lease } }
          : { requestDeleteRange: { key } },
      ];
      if (touchesNaming) {
        const wanted = next?.state === 'SERVING' ? resolverKey(service, next.address) : undefined;
        const candidates: Uint8Array[] = wanted ? [wanted] : [];
        const old = cur?.instance ? resolverKey(service, cur.instance.address) : undefined;
        if (old && !(wanted && bytesEqual(old, wanted))) candidates.push(old);
        const seen = await Promise.all(candidates.map((k) => this.kv.range({ key: k })));
        const ownLeases = new Set([curKv?.lease ?? 0, decision.lease].filter((l) => l !== 0));
        candidates.forEach((k, i) => {
          const existing = seen[i]!.kvs[0];
          compare.push(modRevisionIs(k, existing?.modRevision ?? 0));
          if (wanted && k === wanted) {
            const value = resolverValue(next!);
            if (!existing || existing.lease !== decision.lease || !bytesEqual(existing.value, value))
              success.push({ requestPut: { key: k, value, lease: decision.lease } });
          } else if (existing && ownLeases.has(existing.lease)) {
            success.push({ requestDeleteRange: { key: k } });
          }
        });
      }
      const resp = await this.kv.txn({ compare, success });
      if (!resp.succeeded) continue;
      const revision = resp.header.revision;
      if (!next) return { instance: cur!.instance ?? placeholder(service, instanceId, curKv!), revision };
      const instance: Instance = {
        ...next,
        lease: decision.lease,
        registeredAtRevision: curKv?.createRevision ?? revision,
        updatedAtRevision: revision,
      };
      return { instance, revision };
    }
    throw new CairnError(
      ErrorCode.MEMBERSHIP_CONFLICT,
      `membership: ${service}/${instanceId} changed concurrently ${this.opts.casAttemptsMax} times`,
    );
  }
}

/** Checks a List or Subscribe selection (a prefix may be empty: every service). */
export function checkSelection(sel: ServiceSelection): void {
  if (!sel.prefix || sel.service.length > 0) {
    if (sel.prefix) {
      if (sel.service.startsWith('/')) throw invalid('service must not start with "/"');
    } else checkService(sel.service);
  }
}

/** The instances among key-values read from a selection's range (keys outside it, or not records, skipped). */
export function instancesOf(sel: ServiceSelection, kvs: readonly KeyValue[]): Instance[] {
  const out: Instance[] = [];
  for (const kv of kvs) {
    if (!inSelection(sel, kv.key)) continue;
    const i = parseInstance(kv);
    if (i) out.push(i);
  }
  return out;
}

/** What a deleted key that held no record is reported as: its names and revisions only. */
export function placeholder(service: string, instanceId: string, kv: KeyValue): Instance {
  return {
    service,
    instanceId,
    address: '',
    weight: 0,
    zone: '',
    metadata: {},
    state: 'DOWN',
    load: null,
    registeredAtUnixMs: 0,
    lease: kv.lease,
    registeredAtRevision: kv.createRevision,
    updatedAtRevision: kv.modRevision,
  };
}
