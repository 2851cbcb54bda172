/**
 * Byte encodings of the member registry's replicated payloads (a conf change's context, a
 * MemberUpdate entry) and of its persisted and snapshotted state: JSON, checked field by
 * field on the way in, so every member decides the same way about malformed bytes.
 */
import type { MemberChangeContext, MemberRecord, MemberUpdate, RegistryState } from './member-registry.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function json(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function isUrls(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((u) => typeof u === 'string');
}

function asRecord(v: unknown): MemberRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (!isId(r.id) || typeof r.name !== 'string' || !isUrls(r.peerUrls) || typeof r.isLearner !== 'boolean')
    return undefined;
  return { id: r.id, name: r.name, peerUrls: r.peerUrls, isLearner: r.isLearner };
}

/** Encodes the context a membership conf change carries. */
export function encodeMemberChangeContext(ctx: MemberChangeContext): Uint8Array {
  return encoder.encode(JSON.stringify(ctx));
}

/** Decodes a conf change's context; undefined if malformed. */
export function decodeMemberChangeContext(bytes: Uint8Array): MemberChangeContext | undefined {
  const v = json(bytes) as { members?: unknown } | undefined;
  if (typeof v !== 'object' || v === null || !Array.isArray(v.members)) return undefined;
  const members: { id: number; peerUrls: string[] }[] = [];
  for (const m of v.members as unknown[]) {
    const r = m as { id?: unknown; peerUrls?: unknown };
    if (typeof m !== 'object' || m === null || !isId(r.id) || !isUrls(r.peerUrls)) return undefined;
    members.push({ id: r.id, peerUrls: r.peerUrls });
  }
  return { members };
}

/** Encodes a MemberUpdate entry's payload. */
export function encodeMemberUpdate(u: MemberUpdate): Uint8Array {
  return encoder.encode(JSON.stringify(u));
}

/** Decodes a MemberUpdate payload; undefined if malformed. */
export function decodeMemberUpdate(bytes: Uint8Array): MemberUpdate | undefined {
  const v = json(bytes) as { id?: unknown; peerUrls?: unknown } | undefined;
  if (typeof v !== 'object' || v === null || !isId(v.id) || !isUrls(v.peerUrls)) return undefined;
  return { id: v.id, peerUrls: v.peerUrls };
}

/** Encodes one member record (persisted under its own key). */
export function encodeMemberRecord(m: MemberRecord): Uint8Array {
  return encoder.encode(JSON.stringify(m));
}

/** Decodes a persisted member record; undefined if malformed. */
export function decodeMemberRecord(bytes: Uint8Array): MemberRecord | undefined {
  return asRecord(json(bytes));
}

/** Encodes the registry's meta record (cluster id, removed ids). */
export function encodeRegistryMeta(meta: { clusterId: number; removed: readonly number[] }): Uint8Array {
  return encoder.encode(JSON.stringify(meta));
}

/** Decodes the meta record; undefined if malformed. */
export function decodeRegistryMeta(bytes: Uint8Array): { clusterId: number; removed: number[] } | undefined {
  const v = json(bytes) as { clusterId?: unknown; removed?: unknown } | undefined;
  if (typeof v !== 'object' || v === null) return undefined;
  if (typeof v.clusterId !== 'number' || !Number.isSafeInteger(v.clusterId)) return undefined;
  if (!Array.isArray(v.removed) || !v.removed.every(isId)) return undefined;
  return { clusterId: v.clusterId, removed: v.removed };
}

/** Encodes the whole registry (a snapshot's section). */
export function encodeRegistryState(s: RegistryState): Uint8Array {
  return encoder.encode(JSON.stringify(s));
}

/** Decodes a snapshot's registry section; undefined if malformed. */
export function decodeRegistryState(bytes: Uint8Array): RegistryState | undefined {
  const v = json(bytes) as { members?: unknown } | undefined;
  const meta = decodeRegistryMeta(bytes);
  if (!meta || typeof v !== 'object' || v === null || !Array.isArray(v.members)) return undefined;
  const members: MemberRecord[] = [];
  for (const m of v.members as unknown[]) {
    const r = asRecord(m);
    if (!r) return undefined;
    members.push(r);
  }
  return { clusterId: meta.clusterId, members, removed: meta.removed };
}
