/** MemberAdd against a running local cluster (the first endpoint that answers), for `cluster/cli join`. */
import * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../src/common/proto-loader.js';

/** A member as MemberAdd lists them. */
export interface AddedMember {
  readonly id: number;
  readonly name: string;
  readonly peerUrls: readonly string[];
}

/** What MemberAdd answered: the new member's id and every member, the new one included. */
export interface MemberAdded {
  readonly id: number;
  readonly members: readonly AddedMember[];
}

interface WireMember {
  ID: number;
  name: string;
  peerURLs: string[];
}

function memberAdd(endpoint: string, peerUrls: readonly string[], isLearner: boolean): Promise<MemberAdded> {
  const u = new URL(endpoint);
  const { Cluster } = etcdServices();
  const client = new Cluster(`${u.hostname}:${u.port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    (
      client as unknown as {
        MemberAdd: (
          req: object,
          opts: grpc.CallOptions,
          cb: (e: Error | null, r: { member: WireMember; members: WireMember[] }) => void,
        ) => void;
      }
    ).MemberAdd({ peerURLs: peerUrls, isLearner }, { deadline: Date.now() + 10_000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else
        resolve({
          id: res.member.ID,
          members: res.members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs })),
        });
    });
  });
}

/** Adds a member through the first endpoint that answers. */
export async function addMember(
  endpoints: readonly string[],
  peerUrls: readonly string[],
  isLearner: boolean,
): Promise<MemberAdded> {
  let last: Error = new Error('no endpoint');
  for (const e of endpoints) {
    try {
      return await memberAdd(e, peerUrls, isLearner);
    } catch (err) {
      last = err as Error;
    }
  }
  throw last;
}
