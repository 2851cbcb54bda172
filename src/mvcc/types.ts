/**
 * The stored data model, as etcd's mvccpb: a KeyValue at a revision, the events a write
 * produces, and the (main, sub) revision that orders every change. Everything here is
 * immutable once built.
 */

import type { BinaryString } from './binary-string.js';

/** An empty byte string, shared so that absent values never allocate. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** One version of one key (etcd's mvccpb.KeyValue). Never mutate: readers share these objects. */
export interface KeyValue {
  readonly key: Uint8Array;
  /** The revision of the put that created this generation of the key; 0 in a DELETE event's kv. */
  readonly createRevision: number;
  /** The revision of the write that produced this version. */
  readonly modRevision: number;
  /** 1 on creation, +1 per put, back to 1 when the key is created again after a delete. */
  readonly version: number;
  readonly value: Uint8Array;
  /** The id of the lease the key is attached to; 0 for none. */
  readonly lease: number;
}

/** What a change did to its key; numbers as etcd's mvccpb.Event.EventType. */
export enum EventType {
  Put = 0,
  Delete = 1,
}

/** One change seen by watchers (etcd's mvccpb.Event), with the key's previous version when it had one. */
export interface MvccEvent {
  readonly type: EventType;
  /** For PUT the new version; for DELETE only key and modRevision are set (as etcd). */
  readonly kv: KeyValue;
  /** Undefined when the key had no previous version (or, as a getter, made lazily). */
  readonly prevKv?: KeyValue | undefined;
}

/** A position in the history: the main revision of a write, and the change's index within it. */
export interface Revision {
  readonly main: number;
  readonly sub: number;
}

/**
 * One stored change: the unit of history, of persistence and of snapshots (etcd keeps the
 * same unit in its "key" bucket). Key and value are binary strings (binary-string.ts: a
 * fraction of the memory of byte arrays); kvOf gives the KeyValue readers see, whose
 * modRevision is main. A DELETE has an empty value and 0 for createRevision, version and lease.
 */
export interface RevisionRecord extends Revision {
  readonly type: EventType;
  readonly key: BinaryString;
  readonly value: BinaryString;
  readonly createRevision: number;
  readonly version: number;
  readonly lease: number;
}

/** Orders revisions: by main, then by sub. */
export function compareRevisions(a: Revision, b: Revision): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}
