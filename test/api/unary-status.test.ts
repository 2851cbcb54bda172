// Proves that unaryStatusInterceptor sends a unary call's OK status in the same turn as its response (grpc-js alone waits for the response's write callback), and that errors, a response that cannot be serialized, and streaming calls still end as they should.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, test } from 'vitest';
import { unaryStatusInterceptor } from '../../src/api/unary-status.js';

const json = {
  serialize: (v: unknown): Buffer => {
    if ((v as { poison?: boolean }).poison) throw new Error('cannot serialize');
    return Buffer.from(JSON.stringify(v));
  },
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString()),
};

const method = (name: string, responseStream: boolean): grpc.MethodDefinition<unknown, unknown> => ({
  path: `/test.Probe/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});

const PROBE_SERVICE: grpc.ServiceDefinition = {
  Unary: method('Unary', false),
  Stream: method('Stream', true),
};
const ProbeClient = grpc.makeGenericClientConstructor(PROBE_SERVICE, 'Probe');

/** What the probe saw of one call beneath the interceptor under test, at grpc-js's own call. */
interface Seen {
  /** Whether the response's write had completed when the status was sent. */
  writtenBeforeStatus?: boolean;
  statusCode?: number;
}

/** An interceptor next to grpc-js's call: records whether the response's write had completed when the status went out. */
function writeProbe(seen: Seen[]): grpc.ServerInterceptor {
  return (_def, call) => {
    const s: Seen = {};
    seen.push(s);
    let written = false;
    return new (class extends grpc.ServerInterceptingCall {
      override sendMessage(message: unknown, callback: () => void): void {
        super.sendMessage(message, () => {
          written = true;
          callback();
        });
      }
      override sendStatus(status: Parameters<grpc.ServerInterceptingCall['sendStatus']>[0]): void {
        s.writtenBeforeStatus = written;
        s.statusCode = status.code;
        super.sendStatus(status);
      }
    })(call);
  };
}

let server: grpc.Server | undefined;
let client: grpc.Client | undefined;

afterEach(async () => {
  client?.close();
  if (server) await new Promise<void>((r) => server!.tryShutdown(() => r()));
  server = client = undefined;
});

/** A probe server whose interceptors are [writeProbe, ...outer] (the probe sits next to grpc-js's call). */
async function serve(outer: grpc.ServerInterceptor[]): Promise<Seen[]> {
  const seen: Seen[] = [];
  server = new grpc.Server({ interceptors: [writeProbe(seen), ...outer] });
  server.addService(PROBE_SERVICE, {
    Unary(
      call: grpc.ServerUnaryCall<{ fail?: boolean; poison?: boolean }, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) {
      if (call.request.fail) cb({ code: grpc.status.FAILED_PRECONDITION, details: 'refused' });
      else cb(null, call.request.poison ? { poison: true } : { ok: 1 });
    },
    Stream(call: grpc.ServerWritableStream<unknown, unknown>) {
      for (let i = 0; i < 3; i++) call.write({ i });
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  client = new ProbeClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return seen;
}

function unary(request: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    (client as unknown as { Unary: (...a: unknown[]) => void }).Unary(
      request,
      (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r)),
    );
  });
}

function stream(): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = [];
    const call = (client as unknown as { Stream: (r: unknown) => grpc.ClientReadableStream<unknown> }).Stream(
      {},
    );
    call.on('data', (m) => got.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(got));
  });
}

describe('unaryStatusInterceptor', () => {
  test('without it grpc-js sends the status only after the response is written', async () => {
    const seen = await serve([]);
    await expect(unary({})).resolves.toEqual({ ok: 1 });
    expect(seen[0]).toEqual({ writtenBeforeStatus: true, statusCode: grpc.status.OK });
  });

  test('with it the OK status follows the response in the same turn, once', async () => {
    const seen = await serve([unaryStatusInterceptor]);
    for (let i = 0; i < 3; i++) await expect(unary({})).resolves.toEqual({ ok: 1 });
    expect(seen).toEqual([0, 1, 2].map(() => ({ writtenBeforeStatus: false, statusCode: grpc.status.OK })));
  });

  test('an error status reaches the client as it was', async () => {
    const seen = await serve([unaryStatusInterceptor]);
    await expect(unary({ fail: true })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'refused',
    });
    expect(seen[0]!.statusCode).toBe(grpc.status.FAILED_PRECONDITION);
  });

  test('a response that cannot be serialized ends the call with INTERNAL and the server serves on', async () => {
    await serve([unaryStatusInterceptor]);
    await expect(unary({ poison: true })).rejects.toMatchObject({ code: grpc.status.INTERNAL });
    await expect(unary({})).resolves.toEqual({ ok: 1 });
  });

  test('a streaming call passes through untouched', async () => {
    const seen = await serve([unaryStatusInterceptor]);
    await expect(stream()).resolves.toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(seen[0]).toEqual({ writtenBeforeStatus: true, statusCode: grpc.status.OK });
  });
});
