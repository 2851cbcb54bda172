/**
 * The etcd Cluster service: MemberAdd (also as learner), MemberRemove, MemberUpdate,
 * MemberPromote and MemberList, as etcdctl `member ...` calls them. Every answer lists the
 * members as the registry holds them after the change; errors carry etcd's strings.
 */
import type { ClusterInfo, MemberInfo } from './cluster-info.js';
import { toGrpcError } from './errors.js';
import { responseHeader } from './header.js';
import type { StatusSource } from './status-source.js';

type Callback = (err: Error | null, value?: unknown) => void;
type Call<Req> = { request: Req };

/** What the Cluster service needs from the member: the five operations over its registry. */
export interface MembershipBackend {
  /** Every member (name and client URLs as published); after a ReadIndex barrier when linearizable. */
  list(linearizable: boolean): Promise<readonly MemberInfo[]>;
  /** Adds a member; resolves with the new member once the change is applied here. */
  add(peerUrls: readonly string[], isLearner: boolean): Promise<MemberInfo>;
  remove(id: number): Promise<void>;
  update(id: number, peerUrls: readonly string[]): Promise<void>;
  promote(id: number): Promise<void>;
}

/** An error another member answered with (a forwarded promote): passed on unchanged. */
function isGrpcError(err: unknown): err is Error {
  const e = err as { code?: unknown; details?: unknown };
  return err instanceof Error && typeof e.code === 'number' && typeof e.details === 'string';
}

function wireMember(m: MemberInfo): object {
  return {
    ID: m.id,
    name: m.name,
    peerURLs: [...m.peerUrls],
    clientURLs: [...m.clientUrls],
    isLearner: m.isLearner,
  };
}

/** Handlers for etcdserverpb.Cluster. */
export function clusterHandlers(
  info: ClusterInfo,
  status: () => StatusSource,
  backend: MembershipBackend,
): Record<string, (call: never, cb: Callback) => void> {
  const answer = (cb: Callback, work: () => Promise<object>): void => {
    work().then(
      (body) => cb(null, { header: responseHeader(info, status()), ...body }),
      (err: unknown) => cb(isGrpcError(err) ? err : toGrpcError(err)),
    );
  };
  const members = async () => ({ members: (await backend.list(false)).map(wireMember) });
  return {
    MemberList(call: Call<{ linearizable?: boolean }>, cb: Callback): void {
      answer(cb, async () => ({
        members: (await backend.list(call.request.linearizable === true)).map(wireMember),
      }));
    },
    MemberAdd(call: Call<{ peerURLs?: string[]; isLearner?: boolean }>, cb: Callback): void {
      answer(cb, async () => {
        const member = await backend.add(call.request.peerURLs ?? [], call.request.isLearner === true);
        return { member: wireMember(member), ...(await members()) };
      });
    },
    MemberRemove(call: Call<{ ID?: number }>, cb: Callback): void {
      answer(cb, async () => {
        await backend.remove(call.request.ID ?? 0);
        return members();
      });
    },
    MemberUpdate(call: Call<{ ID?: number; peerURLs?: string[] }>, cb: Callback): void {
      answer(cb, async () => {
        await backend.update(call.request.ID ?? 0, call.request.peerURLs ?? []);
        return members();
      });
    },
    MemberPromote(call: Call<{ ID?: number }>, cb: Callback): void {
      answer(cb, async () => {
        await backend.promote(call.request.ID ?? 0);
        return members();
      });
    },
  };
}
