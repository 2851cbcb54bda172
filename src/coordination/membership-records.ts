/**
 * The service registry's key layout and record format: both are ordinary etcd keys, bound
 * to the instance's lease, so any etcd client can read them (`etcdctl get --prefix
 * /cairn/members/`) and an ended lease removes both in one revision.
 *
 *   /cairn/members/<service>/<instance id>   JSON InstanceRecord (below), the registry's record
 *   <service>/<address>                      {"Addr": address, "Metadata": metadata}, etcd's
 *                                            gRPC naming layout (client/v3/naming), present
 *                                            only while the instance is SERVING
 *
 * A service name may contain '/' (etcd's naming targets often do: "foo/bar/my-service") but
 * neither starts nor ends with one, so a naming key never falls under /cairn/; an instance id
 * has no '/', so the last '/' of a record key separates the service from the instance id.
 */
import { CairnError, ErrorCode } from '../common/errors.js';
import type { KeyValue } from '../mvcc/index.js';
import { prefixRangeEnd } from './keys.js';

/** Where every registry record lives. */
export const MEMBERS_PREFIX = '/cairn/members/';

/** An instance's state; only SERVING instances appear in etcd's naming layout. */
export type InstanceState = 'SERVING' | 'DRAINING' | 'DOWN';

/** Every state, for validation. */
export const INSTANCE_STATES: readonly InstanceState[] = ['SERVING', 'DRAINING', 'DOWN'];

/** Load as the instance reports it, with the server's clock at the report. */
export interface InstanceLoad {
  readonly inFlight: number;
  readonly cpuUtilization: number;
  readonly reportedAtUnixMs: number;
}

/** The JSON value of a record key (field names as stored). */
export interface InstanceRecord {
  readonly service: string;
  readonly instanceId: string;
  readonly address: string;
  readonly weight: number;
  readonly zone: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly state: InstanceState;
  /** null until the instance first reports load. */
  readonly load: InstanceLoad | null;
  /** The server's clock at the latest Register. */
  readonly registeredAtUnixMs: number;
}

/** A record with what its key adds: the lease, and the revisions of creation and last change. */
export interface Instance extends InstanceRecord {
  readonly lease: number;
  /** The record key's create revision (etcdctl -w json shows it as create_revision). */
  readonly registeredAtRevision: number;
  readonly updatedAtRevision: number;
}

/** Which services a List or Subscribe covers: one service, or every service whose name starts with a prefix. */
export interface ServiceSelection {
  readonly service: string;
  readonly prefix: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Longest service name, instance id, address, zone (characters). */
const SERVICE_CHARS_MAX = 256;
const INSTANCE_ID_CHARS_MAX = 128;
const ADDRESS_CHARS_MAX = 256;
const ZONE_CHARS_MAX = 128;
/** Bounds on the metadata map. */
const METADATA_ENTRIES_MAX = 64;
const METADATA_KEY_CHARS_MAX = 128;
const METADATA_VALUE_CHARS_MAX = 1024;
/** Largest weight accepted. */
export const WEIGHT_MAX = 1_000_000;

/** An INVALID_ARGUMENT error with a registry message. */
export function invalid(message: string): CairnError {
  return new CairnError(ErrorCode.INVALID_ARGUMENT, `membership: ${message}`);
}

/** The error for an instance that is not registered. */
export function instanceNotFound(service: string, instanceId: string): CairnError {
  return new CairnError(
    ErrorCode.INSTANCE_NOT_FOUND,
    `membership: instance ${service}/${instanceId} not found`,
  );
}

/** Checks a service name against the layout's rules. */
export function checkService(service: string): void {
  if (service.length === 0) throw invalid('service is required');
  if (service.length > SERVICE_CHARS_MAX) throw invalid(`service is longer than ${SERVICE_CHARS_MAX}`);
  if (service.startsWith('/') || service.endsWith('/'))
    throw invalid('service must neither start nor end with "/"');
}

/** Checks an instance id (non-empty, no '/'). */
export function checkInstanceId(instanceId: string): void {
  if (instanceId.length === 0) throw invalid('instance_id is required');
  if (instanceId.length > INSTANCE_ID_CHARS_MAX)
    throw invalid(`instance_id is longer than ${INSTANCE_ID_CHARS_MAX}`);
  if (instanceId.includes('/')) throw invalid('instance_id must not contain "/"');
}

/** Checks what Register writes besides the names. */
export function checkRegistration(r: {
  address: string;
  weight: number;
  zone: string;
  metadata: Readonly<Record<string, string>>;
}): void {
  if (r.address.length === 0) throw invalid('address is required');
  if (r.address.length > ADDRESS_CHARS_MAX) throw invalid(`address is longer than ${ADDRESS_CHARS_MAX}`);
  if (!Number.isSafeInteger(r.weight) || r.weight < 0 || r.weight > WEIGHT_MAX)
    throw invalid(`weight must be an integer from 0 to ${WEIGHT_MAX}`);
  if (r.zone.length > ZONE_CHARS_MAX) throw invalid(`zone is longer than ${ZONE_CHARS_MAX}`);
  const entries = Object.entries(r.metadata);
  if (entries.length > METADATA_ENTRIES_MAX)
    throw invalid(`more than ${METADATA_ENTRIES_MAX} metadata entries`);
  for (const [k, v] of entries) {
    if (k.length > METADATA_KEY_CHARS_MAX || v.length > METADATA_VALUE_CHARS_MAX)
      throw invalid(
        `metadata keys are at most ${METADATA_KEY_CHARS_MAX} and values ${METADATA_VALUE_CHARS_MAX} long`,
      );
  }
}

/** The record key of an instance: `/cairn/members/<service>/<instance id>`. */
export function recordKey(service: string, instanceId: string): Uint8Array {
  return encoder.encode(`${MEMBERS_PREFIX}${service}/${instanceId}`);
}

/** The key etcd's gRPC naming resolver reads for an address: `<service>/<address>`. */
export function resolverKey(service: string, address: string): Uint8Array {
  return encoder.encode(`${service}/${address}`);
}

/** etcd's naming value (endpoints.Endpoint marshalled by encoding/json: fields Addr and Metadata). */
export function resolverValue(record: InstanceRecord): Uint8Array {
  return encoder.encode(JSON.stringify({ Addr: record.address, Metadata: record.metadata }));
}

/** The key range of a selection: `/cairn/members/<service>/` for one service, `/cairn/members/<prefix>` for a prefix. */
export function selectionRange(sel: ServiceSelection): { key: Uint8Array; rangeEnd: Uint8Array } {
  const key = encoder.encode(
    sel.prefix ? `${MEMBERS_PREFIX}${sel.service}` : `${MEMBERS_PREFIX}${sel.service}/`,
  );
  return { key, rangeEnd: prefixRangeEnd(key) };
}

/** The service and instance id a record key names; undefined for a key outside the layout. */
export function parseRecordKey(key: Uint8Array): { service: string; instanceId: string } | undefined {
  const text = decoder.decode(key);
  if (!text.startsWith(MEMBERS_PREFIX)) return undefined;
  const rest = text.slice(MEMBERS_PREFIX.length);
  const slash = rest.lastIndexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { service: rest.slice(0, slash), instanceId: rest.slice(slash + 1) };
}

/** Whether a record key belongs to the selection (a service's own instances, not a sub-service's). */
export function inSelection(sel: ServiceSelection, key: Uint8Array): boolean {
  const names = parseRecordKey(key);
  if (!names) return false;
  return sel.prefix ? names.service.startsWith(sel.service) : names.service === sel.service;
}

/** The JSON value of a record key. */
export function encodeRecord(record: InstanceRecord): Uint8Array {
  return encoder.encode(JSON.stringify(record));
}

function isStringMap(v: unknown): v is Record<string, string> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === 'string')
  );
}

function parseLoad(v: unknown): InstanceLoad | null | undefined {
  if (v === null || v === undefined) return null;
  const l = v as Partial<InstanceLoad>;
  if (typeof l.inFlight !== 'number' || typeof l.cpuUtilization !== 'number') return undefined;
  return {
    inFlight: l.inFlight,
    cpuUtilization: l.cpuUtilization,
    reportedAtUnixMs: typeof l.reportedAtUnixMs === 'number' ? l.reportedAtUnixMs : 0,
  };
}

/**
 * The instance a record key-value holds; undefined when the key is outside the layout or its
 * value is not a record (someone wrote the key by hand): such keys are skipped by List and
 * Subscribe, and Register overwrites them.
 */
export function parseInstance(kv: KeyValue): Instance | undefined {
  const names = parseRecordKey(kv.key);
  if (!names) return undefined;
  let raw: Partial<Record<keyof InstanceRecord, unknown>>;
  try {
    raw = JSON.parse(decoder.decode(kv.value)) as typeof raw;
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const load = parseLoad(raw.load);
  const state = raw.state as InstanceState;
  if (
    typeof raw.address !== 'string' ||
    !INSTANCE_STATES.includes(state) ||
    load === undefined ||
    (raw.metadata !== undefined && !isStringMap(raw.metadata))
  )
    return undefined;
  return {
    service: names.service,
    instanceId: names.instanceId,
    address: raw.address,
    weight: typeof raw.weight === 'number' ? raw.weight : 1,
    zone: typeof raw.zone === 'string' ? raw.zone : '',
    metadata: (raw.metadata as Record<string, string> | undefined) ?? {},
    state,
    load,
    registeredAtUnixMs: typeof raw.registeredAtUnixMs === 'number' ? raw.registeredAtUnixMs : 0,
    lease: kv.lease,
    registeredAtRevision: kv.createRevision,
    updatedAtRevision: kv.modRevision,
  };
}

/** The stored part of an instance (what goes into the JSON value). */
export function recordOf(i: InstanceRecord): InstanceRecord {
  return {
    service: i.service,
    instanceId: i.instanceId,
    address: i.address,
    weight: i.weight,
    zone: i.zone,
    metadata: i.metadata,
    state: i.state,
    load: i.load,
    registeredAtUnixMs: i.registeredAtUnixMs,
  };
}
