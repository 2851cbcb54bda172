/**
 * `members list | watch | register`: the service registry through the SDK (client.registry).
 * list reads a service's instances once, watch prints the whole view on every change, and
 * register (for testing) keeps one instance registered until Ctrl-C, then deregisters it.
 */
import type { InstanceState } from '../../client/balancers/types.js';
import type { ServiceInstance } from '../../client/registry-types.js';
import { bool, parseCount, str } from '../args.js';
import { aborted, type Command } from '../command.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { hexId, type Json, type Output, type Style } from '../output.js';

/** An instance as cairnctl's JSON prints it. */
function instanceJson(i: ServiceInstance): Json {
  return {
    service: i.service,
    id: i.id,
    address: i.address,
    state: i.state,
    weight: i.weight ?? 1,
    zone: i.zone ?? '',
    metadata: i.metadata,
    load: i.load ? { in_flight: i.load.inFlight, cpu: i.load.cpu } : null,
    lease: hexId(i.lease),
    registered_at_revision: i.registeredAtRevision,
    updated_at_revision: i.updatedAtRevision,
  };
}

const STATE_STYLE: Record<InstanceState, Style> = { SERVING: 'green', DRAINING: 'yellow', DOWN: 'red' };

function loadText(i: ServiceInstance): string {
  return i.load ? `${i.load.inFlight} in flight, cpu ${Math.round(i.load.cpu * 100)}%` : '-';
}

/** Prints a list of instances as a table (with the service column when several may show). */
function printInstances(out: Output, instances: readonly ServiceInstance[], withService: boolean): void {
  if (out.format === 'simple') {
    for (const i of instances)
      out.line(`${withService ? `${i.service} ` : ''}${i.id} ${i.address} ${i.state}`);
    return;
  }
  const headers = ['ID', 'ADDRESS', 'STATE', 'WEIGHT', 'ZONE', 'LOAD', 'LEASE', 'REGISTERED_REV'];
  out.table(
    withService ? ['SERVICE', ...headers] : headers,
    instances.map((i) => [
      ...(withService ? [i.service] : []),
      i.id,
      i.address,
      out.style(STATE_STYLE[i.state], i.state),
      String(i.weight ?? 1),
      i.zone ?? '-',
      loadText(i),
      hexId(i.lease),
      String(i.registeredAtRevision),
    ]),
  );
}

/** `members list SERVICE [--prefix]`. */
export const membersList: Command = {
  name: 'members list',
  summary: "a service's registered instances (state, weight, zone, load, lease)",
  usage: `members list SERVICE [--prefix]
  --prefix       every service whose name starts with SERVICE ("" --prefix: all)`,
  options: { prefix: { type: 'boolean' } },
  arity: [1, 1],
  async run(ctx) {
    const service = ctx.args[0] as string;
    const prefix = bool(ctx.flags, 'prefix');
    const instances = await ctx.client().registry.list(service, { prefix });
    const out = ctx.out;
    if (out.format === 'json') out.json({ service, prefix, instances: instances.map(instanceJson) });
    else if (instances.length === 0 && out.format === 'table')
      out.line(`no instances of ${service}${prefix ? '*' : ''}`);
    else printInstances(out, instances, prefix);
    return ExitCode.OK;
  },
};

/** `members watch SERVICE [--prefix] [--count N]`. */
export const membersWatch: Command = {
  name: 'members watch',
  summary: "print a service's instances now and after every change (until Ctrl-C or --count)",
  usage: `members watch SERVICE [--prefix] [--count N]
  --prefix       every service whose name starts with SERVICE
  --count N      exit 0 after N views (the first is the view now)
  -o json prints one JSON object per view, one per line.`,
  options: { prefix: { type: 'boolean' }, count: { type: 'string' } },
  arity: [1, 1],
  async run(ctx) {
    const service = ctx.args[0] as string;
    const prefix = bool(ctx.flags, 'prefix');
    const count = str(ctx.flags, 'count');
    const limit = count === undefined ? Number.POSITIVE_INFINITY : parseCount(count, '--count', { min: 1 });
    const registry = ctx.client().registry;
    // A subscription retries forever on an unreachable cluster: one read first fails fast and clearly.
    await registry.list(service, { prefix });
    const view = registry.subscribe(service, { prefix });
    void aborted(ctx.signal).then(() => view.close());
    const out = ctx.out;
    let seen = 0;
    try {
      // Iterating a ready view starts with the view now, even an empty one.
      const ready = await view.ready().then(
        () => true,
        (err: unknown) => {
          if (ctx.signal.aborted) return false;
          throw err;
        },
      );
      if (!ready) return ExitCode.OK;
      for await (const instances of view) {
        if (out.format === 'json') {
          out.json({ service, revision: view.revision, instances: instances.map(instanceJson) });
        } else {
          if (out.format === 'table') {
            const n = instances.length;
            out.line(out.style('dim', `-- revision ${view.revision}: ${n} instance${n === 1 ? '' : 's'}`));
          }
          printInstances(out, instances, prefix);
        }
        if (++seen >= limit) break;
      }
    } finally {
      view.close();
    }
    return ExitCode.OK;
  },
};

/** `members register SERVICE ID ADDRESS`. */
export const membersRegister: Command = {
  name: 'members register',
  summary: 'register an instance and keep it registered until Ctrl-C (for testing)',
  usage: `members register SERVICE ID ADDRESS [--weight N] [--zone Z] [--ttl SECONDS]
  --weight N     relative share of traffic (default 1)
  --zone Z       zone label
  --ttl S        TTL of the registration's lease (default 10): how long it outlives this process
  Registers as SERVING, prints the record, re-registers if the lease is lost, and deregisters
  on Ctrl-C.`,
  options: { weight: { type: 'string' }, zone: { type: 'string' }, ttl: { type: 'string' } },
  arity: [3, 3],
  async run(ctx) {
    const [service, id, address] = ctx.args as [string, string, string];
    const weight = str(ctx.flags, 'weight');
    const zone = str(ctx.flags, 'zone');
    if (zone === '') throw new UsageError('--zone is empty');
    const ttlSeconds = parseCount(str(ctx.flags, 'ttl') ?? '10', '--ttl', { min: 1 });
    const registration = await ctx.client().registry.register(
      {
        service,
        id,
        address,
        ...(weight !== undefined ? { weight: parseCount(weight, '--weight') } : {}),
        ...(zone !== undefined ? { zone } : {}),
      },
      { ttlSeconds },
    );
    const out = ctx.out;
    try {
      registration.on('lost', (err) =>
        out.error(
          `cairnctl members register: lease lost${err ? ` (${err.message})` : ''}; registering again`,
        ),
      );
      registration.on('restored', (i) =>
        out.error(`cairnctl members register: registered again (lease ${hexId(i.lease)})`),
      );
      registration.on('error', (err) => out.error(`cairnctl members register: ${err.message}; retrying`));
      const i = registration.instance;
      if (out.format === 'json') out.json(instanceJson(i));
      else if (out.format === 'simple') out.line(hexId(i.lease));
      else
        out.line(
          `registered ${service}/${id} at ${address} (lease ${hexId(i.lease)}, rev ${i.registeredAtRevision}); Ctrl-C deregisters`,
        );
      await aborted(ctx.signal);
      return ExitCode.OK;
    } finally {
      await registration.deregister().catch(() => undefined);
    }
  },
};
