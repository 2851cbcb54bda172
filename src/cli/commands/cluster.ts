/** `cluster status | members | add | remove | promote | move-leader | alarms`. */
import type { Member, MemberStatus } from '../../client/cluster.js';
import { ClientError, toClientError } from '../../client/errors.js';
import { bool, parseId } from '../args.js';
import type { Command, Context } from '../command.js';
import { CliError, ExitCode, UsageError } from '../exit-codes.js';
import type { Json } from '../output.js';
import { hexId, humanBytes } from '../output.js';

function memberJson(m: Member): Json {
  return {
    id: hexId(m.id),
    name: m.name,
    peer_urls: m.peerUrls,
    client_urls: m.clientUrls,
    is_learner: m.isLearner,
  };
}

function printMembers(ctx: Context, members: readonly Member[]): void {
  const out = ctx.out;
  if (out.format === 'json') {
    out.json({ members: members.map(memberJson) });
  } else if (out.format === 'simple') {
    for (const m of members) {
      out.line(
        `${hexId(m.id)}, ${m.isLearner ? 'learner' : 'started'}, ${m.name}, ${m.peerUrls.join(',')}, ${m.clientUrls.join(',')}`,
      );
    }
  } else {
    out.table(
      ['ID', 'NAME', 'PEER URLS', 'CLIENT URLS', 'LEARNER'],
      members.map((m) => [
        hexId(m.id),
        m.name || '(unstarted)',
        m.peerUrls.join(','),
        m.clientUrls.join(','),
        m.isLearner ? 'yes' : '',
      ]),
    );
  }
}

/** host:port of a member's first client URL. */
function clientAddress(m: Member): string | undefined {
  for (const u of m.clientUrls) {
    try {
      return new URL(u).host;
    } catch {
      // not a URL: try the next one
    }
  }
  return undefined;
}

/** `cluster status`. */
export const clusterStatus: Command = {
  name: 'cluster status',
  summary: 'every member: leader, term, raft index, revision, db size',
  usage: `cluster status
  Lists the members (MemberList) and asks each for its status at its client URL.
  Exits 1 when a member does not answer or no member leads.`,
  arity: [0, 0],
  async run(ctx) {
    const client = ctx.client();
    const members = await client.cluster.list({ linearizable: false });
    const deadlineMs = Math.min(ctx.timeoutMs, 3_000);
    const statuses = await Promise.all(
      members.map(async (m): Promise<MemberStatus | ClientError | undefined> => {
        const address = clientAddress(m);
        if (address === undefined) return undefined;
        return client.maintenance
          .status({ endpoint: address, deadlineMs })
          .catch((err: unknown) => toClientError(err, address));
      }),
    );
    const leaderId =
      statuses.find((s): s is MemberStatus => !!s && !(s instanceof ClientError) && s.leaderId !== 0)
        ?.leaderId ?? 0;
    const out = ctx.out;
    const rows = members.map((m, i) => ({ m, s: statuses[i] }));
    if (out.format === 'json') {
      out.json({
        leader: leaderId === 0 ? null : hexId(leaderId),
        members: rows.map(({ m, s }) => ({
          ...(memberJson(m) as object),
          is_leader: m.id === leaderId,
          ...(s === undefined
            ? { error: 'not started' }
            : s instanceof ClientError
              ? { error: s.message }
              : {
                  endpoint: s.endpoint,
                  version: s.version,
                  raft_term: s.raftTerm,
                  raft_index: s.raftIndex,
                  raft_applied_index: s.raftAppliedIndex,
                  revision: s.revision,
                  db_size: s.dbSizeBytes,
                  db_size_in_use: s.dbSizeInUseBytes,
                  errors: s.errors,
                }),
        })),
      });
    } else {
      const table = rows.map(({ m, s }) => {
        const lead = m.id === leaderId ? out.style('green', 'leader') : m.isLearner ? 'learner' : 'follower';
        if (!s || s instanceof ClientError) {
          const why = s ? (s.message.split('.')[0] ?? s.message) : 'not started';
          return [
            hexId(m.id),
            m.name,
            clientAddress(m) ?? '',
            out.style('red', 'down'),
            '',
            '',
            '',
            '',
            out.style('red', why),
          ];
        }
        return [
          hexId(m.id),
          m.name,
          s.endpoint,
          lead,
          String(s.raftTerm),
          String(s.raftIndex),
          String(s.revision),
          humanBytes(s.dbSizeBytes),
          s.errors.join('; '),
        ];
      });
      if (out.format === 'simple') for (const r of table) out.line(r.join(', '));
      else
        out.table(
          ['ID', 'NAME', 'ENDPOINT', 'ROLE', 'TERM', 'RAFT INDEX', 'REVISION', 'DB SIZE', 'ERRORS'],
          table,
        );
    }
    const healthy = leaderId !== 0 && statuses.every((s) => s !== undefined && !(s instanceof ClientError));
    return healthy ? ExitCode.OK : ExitCode.FAILED;
  },
};

/** `cluster members`. */
export const clusterMembers: Command = {
  name: 'cluster members',
  summary: 'list the members',
  usage: 'cluster members',
  arity: [0, 0],
  async run(ctx) {
    printMembers(ctx, await ctx.client().cluster.list());
    return ExitCode.OK;
  },
};

/** `cluster add PEER_URLS`. */
export const clusterAdd: Command = {
  name: 'cluster add',
  summary: 'add a member (then start it joining the existing cluster)',
  usage: `cluster add PEER_URL[,PEER_URL...] [--learner]
  --learner      add as a non-voting learner (promote it once caught up)`,
  options: { learner: { type: 'boolean' } },
  arity: [1, 1],
  async run(ctx) {
    const urls = (ctx.args[0] as string).split(',').filter((u) => u !== '');
    for (const u of urls) {
      if (!/^https?:\/\/[^/]+:\d+\/?$/.test(u))
        throw new UsageError(`"${u}" is not a peer URL like http://10.0.0.4:2380`);
    }
    const r = await ctx.client().cluster.add(urls, { learner: bool(ctx.flags, 'learner') });
    const out = ctx.out;
    if (out.format === 'json') out.json({ member: memberJson(r.member), members: r.members.map(memberJson) });
    else {
      out.line(
        `member ${hexId(r.member.id)} added${r.member.isLearner ? ' as a learner' : ''}; start it with --initial-cluster-state=existing`,
      );
      printMembers(ctx, r.members);
    }
    return ExitCode.OK;
  },
};

function idCommand(
  name: 'remove' | 'promote' | 'move-leader',
  summary: string,
  act: (ctx: Context, id: number) => Promise<Member[] | undefined>,
): Command {
  return {
    name: `cluster ${name}`,
    summary,
    usage: `cluster ${name} MEMBER_ID   (hex, as cluster members prints it)`,
    arity: [1, 1],
    async run(ctx) {
      const id = parseId(ctx.args[0] as string, 'MEMBER_ID');
      const members = await act(ctx, id);
      const out = ctx.out;
      const verb = name === 'move-leader' ? 'is now the leader' : name === 'remove' ? 'removed' : 'promoted';
      if (out.format === 'json')
        out.json({ id: hexId(id), done: name, ...(members ? { members: members.map(memberJson) } : {}) });
      else {
        out.line(`member ${hexId(id)} ${verb}`);
        if (members && out.format === 'table') printMembers(ctx, members);
      }
      return ExitCode.OK;
    },
  };
}

/** `cluster remove ID`. */
export const clusterRemove = idCommand('remove', 'remove a member', (ctx, id) =>
  ctx.client().cluster.remove(id),
);

/** `cluster promote ID`. */
export const clusterPromote = idCommand('promote', 'promote a learner to a voting member', (ctx, id) =>
  ctx.client().cluster.promote(id),
);

/** `cluster move-leader ID`. */
export const clusterMoveLeader = idCommand('move-leader', 'hand leadership to a member', async (ctx, id) => {
  const members = await ctx.client().cluster.list({ linearizable: false });
  if (!members.some((m) => m.id === id)) throw new CliError(ExitCode.NOT_FOUND, `no member ${hexId(id)}`);
  await ctx.client().maintenance.moveLeader(id);
  return undefined;
});

/** `cluster alarms [--disarm]`. */
export const clusterAlarms: Command = {
  name: 'cluster alarms',
  summary: 'list active alarms (--disarm: clear them)',
  usage: 'cluster alarms [--disarm]',
  options: { disarm: { type: 'boolean' } },
  arity: [0, 0],
  async run(ctx) {
    const m = ctx.client().maintenance;
    const alarms = bool(ctx.flags, 'disarm') ? await m.disarmAll() : await m.alarms();
    const out = ctx.out;
    if (out.format === 'json')
      out.json({ alarms: alarms.map((a) => ({ member_id: hexId(a.memberId), alarm: a.alarm })) });
    else if (alarms.length === 0) out.line('no alarms');
    else
      for (const a of alarms)
        out.line(
          `memberID:${hexId(a.memberId)} alarm:${a.alarm}${bool(ctx.flags, 'disarm') ? ' (disarmed)' : ''}`,
        );
    return ExitCode.OK;
  },
};
