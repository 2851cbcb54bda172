/**
 * The toy "payments-ledger" gRPC service the registry examples serve and call: one unary
 * method, /examples.Ledger/Balance, with JSON messages so the examples need no .proto.
 */
import * as grpc from '@grpc/grpc-js';

/** What Balance asks. */
export interface BalanceRequest {
  account: string;
}

/** What Balance answers, and which instance answered. */
export interface BalanceReply {
  account: string;
  balance: number;
  instance: string;
}

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString()),
};

/** The service definition. */
export const LEDGER_SERVICE: grpc.ServiceDefinition = {
  Balance: {
    path: '/examples.Ledger/Balance',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

/** The client constructor. */
export const LedgerClient = grpc.makeGenericClientConstructor(LEDGER_SERVICE, 'Ledger');

/** Calls Balance; resolves with the reply. */
export function balance(client: grpc.Client, account: string, deadlineMs = 5000): Promise<BalanceReply> {
  return new Promise((resolve, reject) => {
    const ledger = client as unknown as {
      Balance(
        req: BalanceRequest,
        options: grpc.CallOptions,
        cb: (err: Error | null, reply: BalanceReply) => void,
      ): grpc.ClientUnaryCall;
    };
    ledger.Balance({ account }, { deadline: Date.now() + deadlineMs }, (err, reply) =>
      err ? reject(err) : resolve(reply),
    );
  });
}
