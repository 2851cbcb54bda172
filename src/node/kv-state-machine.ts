/**
 * The mvcc store as the node's replicated state machine: decodes the mvcc command of each
 * applied entry, applies it, and gathers the persistence records of every apply so the
 * node writes them in the same synced batch as the applied index.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import {
  type ApplyResult,
  type Command,
  type CommandResponse,
  decodeCommand,
  decodeMeta,
  decodeRecord,
  encodeMeta,
  encodeRecordKey,
  encodeRecordValue,
  MvccChangeBuffer,
  type MvccChanges,
  MvccStore,
  type PersistedMvcc,
  type RevisionRecord,
} from '../mvcc/index.js';
import type { RecoveredState, StateMachineOps } from '../storage/level-storage.js';
import { EntryKind, type Envelope } from './envelope.js';
import type { ApplyPosition, StateMachine } from './ports.js';

/** What one applied entry produced for its proposer. */
export type KvResult = ApplyResult<CommandResponse> & { readonly index: number };

/** What storage must write for the state machine: either incremental changes or, after a snapshot was installed, everything. */
export interface KvWrites {
  /** Replace all state-machine data with this (a snapshot from the leader was installed). */
  readonly replaceWith?: PersistedMvcc;
  /** Then apply these changes (records written and removed, meta). */
  readonly changes?: MvccChanges;
}

/** Applies mvcc commands from the log; deterministic, as every member must reach the same state. */
export class KvStateMachine implements StateMachine<KvResult> {
  private kv: MvccStore;
  private buffer = new MvccChangeBuffer();
  private replaceWith: PersistedMvcc | undefined;
  /** Invariant: the index of the last entry whose effects are in `kv`. */
  appliedIndex: number;

  constructor(store: MvccStore, appliedIndex: number) {
    this.kv = store;
    this.appliedIndex = appliedIndex;
  }

  /** The store, for reads (ranges are served locally after a ReadIndex barrier). */
  get store(): MvccStore {
    return this.kv;
  }

  /** @inheritdoc */
  apply(pos: ApplyPosition, env: Envelope): KvResult {
    this.appliedIndex = pos.index;
    if (env.kind !== EntryKind.Mvcc) {
      return this.refused(pos.index, `entry kind ${env.kind} has no effect on the key-value store`);
    }
    let command: Command;
    try {
      command = decodeCommand(env.payload);
    } catch (err) {
      // Every member decodes the same bytes, so every member refuses the same way.
      return this.refused(pos.index, `undecodable command: ${(err as Error).message}`);
    }
    const result = this.kv.apply(command) as ApplyResult<CommandResponse>;
    this.buffer.add(result.changes);
    return { ...result, index: pos.index };
  }

  private refused(index: number, message: string): KvResult {
    const changes: MvccChanges = { written: [], removed: [], meta: this.kv.meta() };
    return {
      ok: false,
      error: new CairnError(ErrorCode.INVALID_ARGUMENT, message),
      events: [],
      changes,
      index,
    };
  }

  /** @inheritdoc */
  skip(pos: ApplyPosition): void {
    this.appliedIndex = pos.index;
  }

  /** @inheritdoc */
  takeWrites(): KvWrites | undefined {
    const changes = this.buffer.take();
    const replaceWith = this.replaceWith;
    this.replaceWith = undefined;
    if (!changes && !replaceWith) return undefined;
    return { ...(replaceWith ? { replaceWith } : {}), ...(changes ? { changes } : {}) };
  }

  /** @inheritdoc */
  snapshot(): Uint8Array {
    return this.kv.snapshot(this.appliedIndex);
  }

  /** @inheritdoc */
  restore(index: number, data: Uint8Array): void {
    const restored = MvccStore.restore(data);
    if (restored.appliedIndex !== index) {
      throw new CairnError(
        ErrorCode.CORRUPT,
        `snapshot at raft index ${index} holds state applied up to ${restored.appliedIndex}`,
      );
    }
    this.kv = restored.store;
    this.appliedIndex = index;
    this.buffer = new MvccChangeBuffer();
    this.replaceWith = this.kv.persisted();
  }
}

/** The state machine's key for the mvcc meta record; revision records are 12 bytes, so it cannot collide. */
const META_KEY = new Uint8Array([0]);

function changeOps(c: MvccChanges): { puts: [Uint8Array, Uint8Array][]; dels: Uint8Array[] } {
  const puts: [Uint8Array, Uint8Array][] = c.written.map((r) => [encodeRecordKey(r), encodeRecordValue(r)]);
  puts.push([META_KEY, encodeMeta(c.meta)]);
  return { puts, dels: c.removed.map((r) => encodeRecordKey(r)) };
}

/** Turns the KvStateMachine's writes into storage operations (the composition root hands this to storage). */
export function kvWritesToOps(writes: unknown): StateMachineOps {
  const w = writes as KvWrites;
  const puts: [Uint8Array, Uint8Array][] = [];
  const dels: Uint8Array[] = [];
  if (w.replaceWith) {
    for (const r of w.replaceWith.records) puts.push([encodeRecordKey(r), encodeRecordValue(r)]);
    puts.push([META_KEY, encodeMeta(w.replaceWith.meta)]);
  }
  if (w.changes) {
    const c = changeOps(w.changes);
    puts.push(...c.puts);
    dels.push(...c.dels);
  }
  return { clearFirst: w.replaceWith !== undefined, puts, dels };
}

/** Rebuilds the key-value state machine from what storage recovered at start-up. */
export function recoverKvStateMachine(recovered: RecoveredState): KvStateMachine {
  let meta: PersistedMvcc['meta'] | undefined;
  const records: RevisionRecord[] = [];
  for (const [key, value] of recovered.stateMachine) {
    if (key.byteLength === META_KEY.byteLength && key[0] === META_KEY[0]) meta = decodeMeta(value);
    else records.push(decodeRecord(key, value));
  }
  if (!meta) return new KvStateMachine(new MvccStore(), recovered.appliedIndex);
  return new KvStateMachine(MvccStore.load({ meta, records }), recovered.appliedIndex);
}
