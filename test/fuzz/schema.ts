/**
 * The fuzzer's view of the public API: every method of every client-facing service in
 * proto/etcd and proto/cairn/v1, with its path, streaming shape and request message
 * descriptor, loaded with the same proto-loader options the server uses (so a payload the
 * fuzzer decodes one way is decoded the same way by the server).
 */
import { join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { repoRoot } from '../../src/common/proto-loader.js';

/** One field of a message descriptor, as proto-loader reports it. */
export interface FieldDescriptor {
  readonly name: string;
  readonly number: number;
  readonly label: string;
  readonly type: string;
  readonly typeName: string;
}

/** A message descriptor (google.protobuf.DescriptorProto as JSON). */
export interface MessageDescriptor {
  readonly name: string;
  readonly field: readonly FieldDescriptor[];
  readonly nestedType: readonly MessageDescriptor[];
}

/** One RPC of the public API. */
export interface ApiMethod {
  /** `/package.Service/Method`. */
  readonly path: string;
  readonly service: string;
  readonly name: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  /** Full name of the request message, e.g. `etcdserverpb.RangeRequest`. */
  readonly requestType: string;
  /** The server's own decoding of a request payload (throws on a malformed one). */
  readonly decode: (payload: Buffer) => Record<string, unknown>;
  /** The message types of the proto group that declares this method. */
  readonly types: MessageTypes;
}

/** The services the fuzzer drives (package-qualified), in a fixed order so that seeds replay. */
export const FUZZED_SERVICES = [
  'etcdserverpb.KV',
  'etcdserverpb.Watch',
  'etcdserverpb.Lease',
  'etcdserverpb.Cluster',
  'etcdserverpb.Maintenance',
  'v3lockpb.Lock',
  'v3electionpb.Election',
  'cairn.v1.LockService',
  'cairn.v1.MembershipService',
  'cairn.v1.CoordinatorService',
] as const;

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: Number,
  defaults: true,
  arrays: true,
  oneofs: true,
};

interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize: (b: Buffer) => Record<string, unknown>;
  requestType: { type: MessageDescriptor };
}

/** Resolves message descriptors within one loaded proto group (cairn's files each define their own ListRequest). */
export interface MessageTypes {
  /** The descriptor of a message by full name. */
  message(fullName: string): MessageDescriptor;
  /** The full name a field's typeName refers to, seen from the message `scope`. */
  resolve(scope: string, typeName: string): string;
}

function messageTypes(defs: protoLoader.PackageDefinition): MessageTypes {
  const messages = new Map<string, MessageDescriptor>();
  const addMessage = (fullName: string, d: MessageDescriptor): void => {
    messages.set(fullName, d);
    for (const n of d.nestedType ?? []) addMessage(`${fullName}.${n.name}`, n);
  };
  for (const [name, def] of Object.entries(defs)) {
    const d = def as { format?: string; type?: MessageDescriptor };
    if (d.format?.includes('DescriptorProto') && !d.format.includes('Enum') && d.type)
      addMessage(name, d.type);
  }
  return {
    message(fullName) {
      const d = messages.get(fullName);
      if (!d) throw new Error(`fuzz schema: no message ${fullName}`);
      return d;
    },
    resolve(scope, typeName) {
      if (typeName.startsWith('.')) return typeName.slice(1);
      // Innermost scope first, as protobuf resolves names.
      let s = scope;
      for (;;) {
        const candidate = s ? `${s}.${typeName}` : typeName;
        if (messages.has(candidate)) return candidate;
        if (!s) break;
        s = s.includes('.') ? s.slice(0, s.lastIndexOf('.')) : '';
      }
      for (const name of messages.keys()) if (name.endsWith(`.${typeName}`)) return name;
      throw new Error(`fuzz schema: cannot resolve ${typeName} from ${scope}`);
    },
  };
}

/** Loads every fuzzed method, in FUZZED_SERVICES order. */
export function loadApiMethods(): ApiMethod[] {
  const proto = join(repoRoot(), 'proto');
  const groups: protoLoader.PackageDefinition[] = [
    protoLoader.loadSync(
      ['etcdserverpb/rpc.proto', 'v3lockpb/v3lock.proto', 'v3electionpb/v3election.proto'].map((f) =>
        join(proto, 'etcd', f),
      ),
      { ...LOADER_OPTIONS, includeDirs: [join(proto, 'etcd')] },
    ),
    ...['v1/lock.proto', 'v1/membership.proto', 'v1/coordinator.proto'].map((f) =>
      protoLoader.loadSync(join(proto, 'cairn', f), {
        ...LOADER_OPTIONS,
        includeDirs: [join(proto, 'cairn')],
      }),
    ),
  ];
  const methods: ApiMethod[] = [];
  for (const service of FUZZED_SERVICES) {
    const defs = groups.find((g) => g[service] !== undefined);
    if (!defs) throw new Error(`fuzz schema: no service ${service}`);
    const types = messageTypes(defs);
    const svc = defs[service] as unknown as Record<string, MethodDef>;
    const pkg = service.slice(0, service.lastIndexOf('.'));
    for (const [name, m] of Object.entries(svc)) {
      methods.push({
        path: m.path,
        service,
        name,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        requestType: `${pkg}.${m.requestType.type.name}`,
        decode: (b) => m.requestDeserialize(b),
        types,
      });
    }
  }
  return methods;
}
