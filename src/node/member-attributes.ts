/**
 * Members' published attributes (name and client URLs), replicated through raft as etcd's
 * members publish theirs, so every member answers MemberList with everyone's client URLs.
 */

/** What a member publishes about itself. */
export interface MemberAttributes {
  readonly id: number;
  readonly name: string;
  readonly clientUrls: readonly string[];
}

/** Encodes attributes for an EntryKind.MemberAttributes entry. */
export function encodeMemberAttributes(a: MemberAttributes): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(a));
}

/** Decodes attributes; undefined for anything malformed (every member decides the same way). */
export function decodeMemberAttributes(bytes: Uint8Array): MemberAttributes | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<MemberAttributes>;
    if (!Number.isSafeInteger(v.id) || typeof v.name !== 'string' || !Array.isArray(v.clientUrls))
      return undefined;
    if (!v.clientUrls.every((u) => typeof u === 'string')) return undefined;
    return { id: v.id as number, name: v.name, clientUrls: v.clientUrls };
  } catch {
    return undefined;
  }
}
