/**
 * A tiny gRPC echo service for the routing tests: a service definition with JSON messages (no
 * .proto), servers that record when each call arrived, and a promise-returning call helper.
 */
import * as grpc from '@grpc/grpc-js';

/** What an echo call sends: an optional wait before answering. */
export interface EchoRequest {
  delayMs?: number;
}

/** What an echo server answers: its own name. */
export interface EchoReply {
  server: string;
}

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString()),
};

/** The echo service: one unary method, /test.Echo/Echo. */
export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

/** A client constructor of the echo service. */
export const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');

/** A running echo server and the arrival time (ms since epoch) of every call it got. */
export interface EchoServer {
  readonly name: string;
  readonly address: string;
  readonly arrivals: number[];
  stop(): Promise<void>;
}

/** Starts an echo server on a free loopback port. */
export async function startEchoServer(name: string): Promise<EchoServer> {
  const server = new grpc.Server();
  const arrivals: number[] = [];
  server.addService(ECHO_SERVICE, {
    Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>): void {
      arrivals.push(Date.now());
      const delayMs = call.request.delayMs ?? 0;
      if (delayMs > 0) setTimeout(() => callback(null, { server: name }), delayMs);
      else callback(null, { server: name });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    name,
    address: `127.0.0.1:${port}`,
    arrivals,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** One echo call with a deadline. */
export function echo(client: grpc.Client, request: EchoRequest = {}, deadlineMs = 3000): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as { Echo: (...a: unknown[]) => void }).Echo;
    fn.call(client, request, { deadline: Date.now() + deadlineMs }, (err: Error | null, reply: EchoReply) =>
      err ? reject(err) : resolve(reply),
    );
  });
}
