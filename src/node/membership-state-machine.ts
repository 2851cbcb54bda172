/**
 * The replicated state machine a member runs: the key-value state machine plus the member
 * registry. Configuration changes and MemberUpdate entries go to the registry, everything
 * else to the key-value state machine; both are persisted in the same batch (the registry
 * under state-machine keys with first byte 4) and carried in one snapshot, whose layout is
 * u32 length of the registry section, the registry as JSON, then the key-value snapshot.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import { concatBytes, type LazyBytes } from '../common/lazy-bytes.js';
import { MvccStore } from '../mvcc/index.js';
import type { ConfChange } from '../raft/index.js';
import type { RecoveredState, StateMachineEntry, StateMachineOps } from '../storage/level-storage.js';
import { EntryKind, type Envelope } from './envelope.js';
import { type KvResult, KvStateMachine, kvWritesToOps, recoverKvStateMachine } from './kv-state-machine.js';
import {
  decodeMemberChangeContext,
  decodeMemberRecord,
  decodeMemberUpdate,
  decodeRegistryMeta,
  decodeRegistryState,
  encodeMemberRecord,
  encodeRegistryMeta,
  encodeRegistryState,
} from './member-codec.js';
import { type MemberRecord, MemberRegistry, type RegistryWrites } from './member-registry.js';
import type { ApplyPosition, StateMachine } from './ports.js';

/** What storage must write: the key-value state machine's writes and the registry's. */
export interface MembershipWrites {
  readonly kv?: unknown;
  readonly registry?: RegistryWrites;
}

/** The key-value state machine with the member registry beside it. */
export class MembershipStateMachine implements StateMachine<KvResult> {
  constructor(
    readonly kv: KvStateMachine,
    readonly registry: MemberRegistry,
  ) {}

  /** @inheritdoc */
  get appliedIndex(): number {
    return this.kv.appliedIndex;
  }

  /** @inheritdoc */
  apply(pos: ApplyPosition, env: Envelope): KvResult {
    if (env.kind !== EntryKind.MemberUpdate) return this.kv.apply(pos, env);
    this.kv.skip(pos);
    const update = decodeMemberUpdate(env.payload);
    if (!update)
      return this.result(pos, new CairnError(ErrorCode.INVALID_ARGUMENT, 'malformed member update'));
    return this.result(pos, this.registry.applyUpdate(update));
  }

  /** @inheritdoc */
  applyConfChange(pos: ApplyPosition, cc: ConfChange, context: Envelope | undefined): KvResult {
    this.kv.skip(pos);
    this.registry.applyConfChange(cc, context ? decodeMemberChangeContext(context.payload) : undefined);
    return this.result(pos, undefined);
  }

  /** A result shaped as the key-value state machine's, for the proposer waiting on a membership change. */
  private result(pos: ApplyPosition, error: CairnError | undefined): KvResult {
    const meta = this.kv.store.meta();
    const changes = { revisions: [], meta };
    if (error) return { ok: false, error, events: [], changes, index: pos.index };
    return {
      ok: true,
      response: { header: { revision: meta.currentRevision } },
      events: [],
      changes,
      index: pos.index,
    } as unknown as KvResult;
  }

  /** @inheritdoc */
  skip(pos: ApplyPosition): void {
    this.kv.skip(pos);
  }

  /** @inheritdoc */
  takeWrites(): MembershipWrites | undefined {
    const kv = this.kv.takeWrites();
    const registry = this.registry.takeWrites();
    if (kv === undefined && registry === undefined) return undefined;
    return { ...(kv !== undefined ? { kv } : {}), ...(registry ? { registry } : {}) };
  }

  /** @inheritdoc */
  snapshot(): LazyBytes {
    const reg = encodeRegistryState(this.registry.state());
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, reg.byteLength);
    return concatBytes(length, reg, this.kv.snapshot());
  }

  /** @inheritdoc */
  restore(index: number, data: Uint8Array): void {
    this.install(data, index);
  }

  /** Restores a snapshot at the raft index it was taken at (read from its data), for seeding a new cluster from a saved file; returns that index. */
  restoreAsTaken(data: Uint8Array): number {
    return this.install(data, undefined);
  }

  private install(data: Uint8Array, expectedIndex: number | undefined): number {
    const at = expectedIndex ?? 'unknown';
    const truncated = () => new CairnError(ErrorCode.CORRUPT, `snapshot at raft index ${at} is truncated`);
    if (data.byteLength < 4) throw truncated();
    const regBytes = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
    if (4 + regBytes > data.byteLength) throw truncated();
    const state = decodeRegistryState(data.subarray(4, 4 + regBytes));
    if (!state)
      throw new CairnError(ErrorCode.CORRUPT, `snapshot at raft index ${at} has a malformed member registry`);
    const kvData = data.subarray(4 + regBytes);
    let index: number;
    if (expectedIndex === undefined) index = this.kv.restoreAsTaken(kvData);
    else {
      this.kv.restore(expectedIndex, kvData);
      index = expectedIndex;
    }
    this.registry.restore(state);
    return index;
  }
}

/** First byte of the registry's state-machine keys: [4] is the meta record, [4, id u64] a member. */
const REGISTRY_KEY_PREFIX = 4;

function registryMemberKey(id: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = REGISTRY_KEY_PREFIX;
  const v = new DataView(k.buffer);
  v.setUint32(1, Math.floor(id / 2 ** 32));
  v.setUint32(5, id % 2 ** 32);
  return k;
}

const REGISTRY_META_KEY = new Uint8Array([REGISTRY_KEY_PREFIX]);

/** Whether a state-machine key is the registry's (the kv store's keys start with another byte, or are 12 bytes long: old-style records). */
function isRegistryKey(key: Uint8Array): boolean {
  return key[0] === REGISTRY_KEY_PREFIX && (key.byteLength === 1 || key.byteLength === 9);
}

/** Turns the writes of a MembershipStateMachine into storage operations. */
export function membershipWritesToOps(writes: unknown): StateMachineOps {
  const w = writes as MembershipWrites;
  const kv: StateMachineOps =
    w.kv !== undefined ? kvWritesToOps(w.kv) : { clearFirst: false, puts: [], dels: [] };
  const puts: [Uint8Array, Uint8Array][] = kv.puts.map(([k, v]) => [k, v]);
  const dels: Uint8Array[] = [...kv.dels];
  const r = w.registry;
  if (r) {
    for (const m of r.put) puts.push([registryMemberKey(m.id), encodeMemberRecord(m)]);
    for (const id of r.deleted) dels.push(registryMemberKey(id));
    if (r.meta) puts.push([REGISTRY_META_KEY, encodeRegistryMeta(r.meta)]);
  }
  return {
    clearFirst: kv.clearFirst || (r?.replaced ?? false),
    puts,
    dels,
    ...(kv.valuePuts ? { valuePuts: kv.valuePuts } : {}),
    ...(kv.valueDels ? { valueDels: kv.valueDels } : {}),
  };
}

/** Rebuilds the state machine (key-value store and member registry) from what storage recovered. */
export async function recoverMembershipStateMachine(
  recovered: RecoveredState,
): Promise<MembershipStateMachine> {
  const { ready, loaded } = openMembershipStateMachine(recovered);
  const sm = await ready;
  await loaded;
  return sm;
}

/**
 * Opens the state machine in two steps, for a member that starts raft while it loads
 * (RaftNodeOptions.startLoading). `ready` resolves once the member registry is read (its keys
 * sort before the key-value store's, so early in the scan), with a state machine whose
 * key-value side is still empty; `loaded` resolves once the key-value store is rebuilt and
 * taken in (KvStateMachine.takeLoaded). A failure rejects `loaded`, and `ready` too if it
 * comes first; `loaded` counts as handled from the start, since its caller awaits it only
 * after other work (starting raft) and must still get the error then.
 */
export function openMembershipStateMachine(recovered: RecoveredState): {
  ready: Promise<MembershipStateMachine>;
  loaded: Promise<void>;
} {
  const members: MemberRecord[] = [];
  let meta: { clusterId: number; removed: number[] } | undefined;
  let sm: MembershipStateMachine | undefined;
  let resolveReady: (sm: MembershipStateMachine) => void = () => {};
  let rejectReady: (err: unknown) => void = () => {};
  const ready = new Promise<MembershipStateMachine>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const registryRead = (): MembershipStateMachine => {
    if (sm === undefined) {
      const registry = new MemberRegistry({
        clusterId: meta?.clusterId ?? 0,
        members,
        removed: meta?.removed ?? [],
      });
      sm = new MembershipStateMachine(new KvStateMachine(new MvccStore(), recovered.appliedIndex), registry);
      resolveReady(sm);
    }
    return sm;
  };
  // The registry's entries are taken out as the key-value state machine reads the rest.
  async function* kvEntries(): AsyncGenerator<StateMachineEntry[]> {
    for await (const batch of recovered.stateMachine) {
      const kv: StateMachineEntry[] = [];
      for (const entry of batch) {
        const [key, value] = entry;
        if (!isRegistryKey(key)) {
          // Keys come in order: past the registry's, it is complete.
          if (key[0]! > REGISTRY_KEY_PREFIX) registryRead();
          kv.push(entry);
          continue;
        }
        if (key.byteLength === 1) {
          meta = decodeRegistryMeta(value);
          if (!meta) throw new CairnError(ErrorCode.CORRUPT, 'the member registry meta record is malformed');
        } else {
          const m = decodeMemberRecord(value);
          if (!m) throw new CairnError(ErrorCode.CORRUPT, 'a member registry record is malformed');
          members.push(m);
        }
      }
      yield kv;
    }
  }
  const loaded = (async () => {
    try {
      const kv = await recoverKvStateMachine({
        appliedIndex: recovered.appliedIndex,
        stateMachine: kvEntries(),
        ...(recovered.values ? { values: recovered.values } : {}),
      });
      registryRead().kv.takeLoaded(kv);
    } catch (err) {
      rejectReady(err);
      throw err;
    }
  })();
  loaded.catch(() => undefined);
  return { ready, loaded };
}
