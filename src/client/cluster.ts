/**
 * Operating a cluster through the SDK: membership (list, add, remove, update, promote) over
 * etcd's Cluster service, and Maintenance — each member's status, alarms, leadership
 * transfer, and a snapshot saved to a file whose trailing SHA-256 (the stream's last
 * message, as etcd sends it) is checked before the file is given its final name.
 */
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode } from '../common/errors.js';
import type { CallOptions, Connection, ServiceName, Wire } from './connection.js';
import { ClientError, toClientError } from './errors.js';

/** One member as the cluster lists it. */
export interface Member {
  /** The member's id (etcd's uint64 ID; hex in cairnctl). */
  id: number;
  /** Empty until a member added at run time has started. */
  name: string;
  /** URLs the other members reach it on. */
  peerUrls: string[];
  /** URLs clients reach it on (empty until it started). */
  clientUrls: string[];
  /** Whether it is a learner (receives the log, does not vote). */
  isLearner: boolean;
}

/** What one member says about itself (Maintenance.Status). */
export interface MemberStatus {
  /** The endpoint (host:port) that answered. */
  endpoint: string;
  /** The id of the member that answered. */
  memberId: number;
  /** The id of the cluster it belongs to. */
  clusterId: number;
  /** The etcd API version the member reports. */
  version: string;
  /** The member the answering member believes leads (0: none). */
  leaderId: number;
  /** The raft term it is in. */
  raftTerm: number;
  /** The member's commit index. */
  raftIndex: number;
  /** The last index it applied to its store. */
  raftAppliedIndex: number;
  /** The store's revision on that member. */
  revision: number;
  /** The size of its store on disk. */
  dbSizeBytes: number;
  /** The part of that size holding live data (the rest is reclaimable). */
  dbSizeInUseBytes: number;
  /** Whether it is a learner. */
  isLearner: boolean;
  /** Problems the member reports ("etcdserver: no leader", active alarms). */
  errors: string[];
}

/** An active alarm. */
export interface Alarm {
  /** The member that raised the alarm. */
  memberId: number;
  /** 'NOSPACE', 'CORRUPT' (or the number of an alarm this SDK does not know). */
  alarm: string;
}

/** What a saved snapshot is. */
export interface SavedSnapshot {
  /** Where the snapshot was written. */
  path: string;
  /** Its size, the 32-byte SHA-256 trailer included. */
  sizeBytes: number;
  /** The SHA-256 the server sent (hex) — of the file without its last 32 bytes. */
  sha256: string;
  /** The revision of the store the snapshot holds (from the stream's header). */
  revision: number;
  /** The endpoint that streamed it. */
  endpoint: string;
}

const ALARM_NAMES: Record<number, string> = { 0: 'NONE', 1: 'NOSPACE', 2: 'CORRUPT' };
const DIGEST_BYTES = 32;

function memberOf(m: Wire): Member {
  return {
    id: Number(m.ID ?? 0),
    name: String(m.name ?? ''),
    peerUrls: [...((m.peerURLs ?? []) as string[])],
    clientUrls: [...((m.clientURLs ?? []) as string[])],
    isLearner: Boolean(m.isLearner),
  };
}

/** A unary call on one given endpoint, without retry or failover (status of that very member). */
function unaryAt(
  connection: Connection,
  service: ServiceName,
  method: string,
  request: Wire,
  address: string,
  deadlineMs: number,
): Promise<Wire> {
  const stub = connection.stub(service, address) as unknown as Record<
    string,
    (req: Wire, opts: grpc.CallOptions, cb: (err: Error | null, res: Wire) => void) => grpc.ClientUnaryCall
  >;
  const fn = stub[method];
  if (typeof fn !== 'function') {
    return Promise.reject(
      new ClientError(ErrorCode.INVALID_ARGUMENT, `${service} has no ${method}`, 12, false),
    );
  }
  return new Promise((resolve, reject) => {
    fn.call(stub, request, { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => {
      if (err) reject(toClientError(err, address));
      else resolve(res);
    });
  });
}

/** Membership calls of one client (etcd's Cluster service). */
export class ClusterMembers {
  constructor(private readonly connection: Connection) {}

  /** Every member; linearizable waits for a quorum's view (default true). */
  async list(options: { linearizable?: boolean } & CallOptions = {}): Promise<Member[]> {
    const r = await this.connection.unary(
      'Cluster',
      'MemberList',
      { linearizable: options.linearizable ?? true },
      { idempotent: true, ...options },
    );
    return ((r.members ?? []) as Wire[]).map(memberOf);
  }

  /** Adds a member (as a learner when asked); start its process afterwards, joining the existing cluster. */
  async add(
    peerUrls: readonly string[],
    options: { learner?: boolean } & CallOptions = {},
  ): Promise<{ member: Member; members: Member[] }> {
    const r = await this.connection.unary(
      'Cluster',
      'MemberAdd',
      { peerURLs: [...peerUrls], isLearner: options.learner ?? false },
      { leader: true, ...options },
    );
    return { member: memberOf(r.member ?? {}), members: ((r.members ?? []) as Wire[]).map(memberOf) };
  }

  /** Removes a member by id. */
  async remove(id: number, options: CallOptions = {}): Promise<Member[]> {
    const r = await this.connection.unary(
      'Cluster',
      'MemberRemove',
      { ID: id },
      { leader: true, ...options },
    );
    return ((r.members ?? []) as Wire[]).map(memberOf);
  }

  /** Changes a member's peer URLs. */
  async update(id: number, peerUrls: readonly string[], options: CallOptions = {}): Promise<Member[]> {
    const r = await this.connection.unary(
      'Cluster',
      'MemberUpdate',
      { ID: id, peerURLs: [...peerUrls] },
      { leader: true, idempotent: true, ...options },
    );
    return ((r.members ?? []) as Wire[]).map(memberOf);
  }

  /** Promotes a learner that has caught up to a voting member. */
  async promote(id: number, options: CallOptions = {}): Promise<Member[]> {
    const r = await this.connection.unary(
      'Cluster',
      'MemberPromote',
      { ID: id },
      { leader: true, idempotent: true, ...options },
    );
    return ((r.members ?? []) as Wire[]).map(memberOf);
  }
}

/** Maintenance calls of one client (etcd's Maintenance service). */
export class Maintenance {
  constructor(private readonly connection: Connection) {}

  /** The status of the member at `endpoint` (host:port; default: any endpoint, with retries). */
  async status(options: { endpoint?: string; deadlineMs?: number } = {}): Promise<MemberStatus> {
    const deadlineMs = options.deadlineMs ?? this.connection.deadlineMs;
    if (options.endpoint === undefined) {
      const r = await this.connection.unary('Maintenance', 'Status', {}, { idempotent: true, deadlineMs });
      return this.statusOf(r, this.connection.currentAddress);
    }
    const r = await unaryAt(this.connection, 'Maintenance', 'Status', {}, options.endpoint, deadlineMs);
    return this.statusOf(r, options.endpoint);
  }

  /** The status of every endpoint the client was given, in order; a member that fails gives its error. */
  async statusAll(options: { deadlineMs?: number } = {}): Promise<(MemberStatus | ClientError)[]> {
    return Promise.all(
      this.connection.endpoints.map((e) =>
        this.status({ endpoint: e.address, ...options }).catch((err: unknown) =>
          toClientError(err, e.address),
        ),
      ),
    );
  }

  private statusOf(r: Wire, endpoint: string): MemberStatus {
    return {
      endpoint,
      memberId: Number(r.header?.member_id ?? 0),
      clusterId: Number(r.header?.cluster_id ?? 0),
      version: String(r.version ?? ''),
      leaderId: Number(r.leader ?? 0),
      raftTerm: Number(r.raftTerm ?? 0),
      raftIndex: Number(r.raftIndex ?? 0),
      raftAppliedIndex: Number(r.raftAppliedIndex ?? 0),
      revision: Number(r.header?.revision ?? 0),
      dbSizeBytes: Number(r.dbSize ?? 0),
      dbSizeInUseBytes: Number(r.dbSizeInUse ?? 0),
      isLearner: Boolean(r.isLearner),
      errors: [...((r.errors ?? []) as string[])],
    };
  }

  /** The active alarms of the cluster. */
  async alarms(options: CallOptions = {}): Promise<Alarm[]> {
    const r = await this.connection.unary(
      'Maintenance',
      'Alarm',
      { action: 0, memberID: 0, alarm: 0 },
      { idempotent: true, ...options },
    );
    return ((r.alarms ?? []) as Wire[]).map((a) => ({
      memberId: Number(a.memberID ?? 0),
      alarm: ALARM_NAMES[Number(a.alarm)] ?? String(a.alarm),
    }));
  }

  /** Clears every active alarm (after the cause, e.g. a full disk, was dealt with). */
  async disarmAll(options: CallOptions = {}): Promise<Alarm[]> {
    const active = await this.alarms(options);
    for (const a of active) {
      const alarm = Number(Object.entries(ALARM_NAMES).find(([, n]) => n === a.alarm)?.[0] ?? 0);
      await this.connection.unary(
        'Maintenance',
        'Alarm',
        { action: 2, memberID: a.memberId, alarm },
        { leader: true, idempotent: true, ...options },
      );
    }
    return active;
  }

  /**
   * Hands leadership to `targetId`: finds the leader (only it accepts MoveLeader) among the
   * endpoints, else at its published client URL, and asks it; resolves once the leader saw
   * the target take over.
   */
  async moveLeader(targetId: number, options: { deadlineMs?: number } = {}): Promise<{ from: number }> {
    const deadlineMs = options.deadlineMs ?? this.connection.deadlineMs;
    const statuses = await this.statusAll({ deadlineMs: Math.min(deadlineMs, 3_000) });
    const answered = statuses.filter((s): s is MemberStatus => !(s instanceof ClientError));
    if (answered.length === 0) throw statuses[0] as ClientError;
    const leaderId = answered.find((s) => s.leaderId !== 0)?.leaderId ?? 0;
    if (leaderId === 0) throw new ClientError(ErrorCode.NO_LEADER, 'etcdserver: no leader', 14, false);
    let leaderAddress = answered.find((s) => s.memberId === leaderId)?.endpoint;
    if (leaderAddress === undefined) {
      // The leader is not among the endpoints: reach it at its published client URL.
      const members = await new ClusterMembers(this.connection).list({ linearizable: false, deadlineMs });
      const url = members.find((m) => m.id === leaderId)?.clientUrls[0];
      leaderAddress = url === undefined ? undefined : new URL(url).host;
    }
    if (leaderAddress === undefined) {
      throw new ClientError(
        ErrorCode.NO_LEADER,
        `the leader (${leaderId.toString(16)}) has no client URL`,
        14,
        false,
      );
    }
    await unaryAt(
      this.connection,
      'Maintenance',
      'MoveLeader',
      { targetID: targetId },
      leaderAddress,
      deadlineMs,
    );
    return { from: leaderId };
  }

  /**
   * Streams a snapshot from one member into `path` (written as `path.part`, renamed once
   * complete) and checks its SHA-256 against the digest the stream ends with; a file that
   * fails the check is removed and the call fails with CORRUPT.
   */
  async saveSnapshot(
    path: string,
    options: { signal?: AbortSignal; onProgress?: (receivedBytes: number) => void } = {},
  ): Promise<SavedSnapshot> {
    const endpoint = this.connection.currentAddress;
    const stub = this.connection.stub('Maintenance', endpoint) as unknown as {
      Snapshot(req: Wire): grpc.ClientReadableStream<Wire>;
    };
    const partPath = `${path}.part`;
    const file = await open(partPath, 'w');
    const sha = createHash('sha256');
    let held: Buffer | undefined;
    let sizeBytes = 0;
    let revision = 0;
    try {
      const stream = stub.Snapshot({});
      const onAbort = () => stream.cancel();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const message of stream as AsyncIterable<Wire>) {
          revision = Math.max(revision, Number(message.header?.revision ?? 0));
          const blob = message.blob as Buffer;
          // The last message is the digest; everything before it is hashed.
          if (held) {
            sha.update(held);
            await file.write(held);
          }
          held = Buffer.from(blob);
          sizeBytes += blob.byteLength;
          options.onProgress?.(sizeBytes);
        }
      } catch (err) {
        throw toClientError(err, endpoint);
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
      if (held?.byteLength !== DIGEST_BYTES) {
        throw new ClientError(
          ErrorCode.CORRUPT,
          'snapshot stream ended without its SHA-256',
          15,
          false,
          endpoint,
        );
      }
      const digest = sha.digest();
      if (!digest.equals(held)) {
        throw new ClientError(
          ErrorCode.CORRUPT,
          `snapshot fails its SHA-256 (computed ${digest.toString('hex')}, sent ${held.toString('hex')})`,
          15,
          false,
          endpoint,
        );
      }
      await file.write(held);
      await file.sync();
      await file.close();
      await rename(partPath, path);
      return { path, sizeBytes, sha256: held.toString('hex'), revision, endpoint };
    } catch (err) {
      await file.close().catch(() => undefined);
      await rm(partPath, { force: true });
      throw err;
    }
  }
}
