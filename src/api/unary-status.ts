/**
 * A unary call's status sent with its response. grpc-js sends a unary response's status
 * only from the callback of the response's write, so the data frame and the trailers leave
 * in two socket writes with a turn of the event loop between them, and the client's call
 * ends only with the second. This interceptor ends a unary call as soon as its one message
 * is handed to the stream: the trailers follow the message in the same turn.
 */
import * as grpc from '@grpc/grpc-js';

/** A status as ServerInterceptingCall.sendStatus takes it. */
type SentStatus = Parameters<grpc.ServerInterceptingCall['sendStatus']>[0];

/** The status of a unary call whose response was sent: what grpc-js would send after the write. */
const UNARY_OK: SentStatus = { code: grpc.status.OK, details: 'OK', metadata: null };

/** A unary call that sends OK right behind its response and ignores grpc-js's own OK later. */
class StatusWithResponseCall extends grpc.ServerInterceptingCall {
  /** Invariant: true once a status went to the stream; later ones are dropped. */
  private ended = false;

  /** Sends the response, then the OK status at once. */
  override sendMessage(message: unknown, callback: () => void): void {
    super.sendMessage(message, callback);
    if (this.ended) return;
    this.ended = true;
    try {
      super.sendStatus(UNARY_OK);
    } catch {
      // The message could not be sent (grpc-js answered with an error status of its own, or
      // the client went away): the stream has its status already.
    }
  }

  /** Sends an error status (no response was sent), or drops grpc-js's OK after an early one. */
  override sendStatus(status: SentStatus): void {
    if (this.ended) return;
    this.ended = true;
    super.sendStatus(status);
  }
}

/** Ends each unary call with its response (streaming calls pass through untouched). */
export const unaryStatusInterceptor: grpc.ServerInterceptor = (def, call) =>
  def.requestStream || def.responseStream
    ? new grpc.ServerInterceptingCall(call)
    : new StatusWithResponseCall(call);
