/**
 * Sending on a grpc-js server stream without waiting for each message's socket write.
 *
 * A grpc-js stream call is a Node Writable with no `_writev`: it hands one message to http2,
 * waits until http2 reports that message written to the socket, and only then takes the next.
 * A Watch stream carrying hundreds of watchers sends one response per watcher for each event,
 * so an event reached the last of them hundreds of event-loop turns after the first. The call
 * object underneath (the one the Writable feeds) queues a message straight on the http2
 * stream, whose own Writable gathers everything queued in one turn into a single write.
 */
import type * as grpc from '@grpc/grpc-js';

/** Sends one message; `onSent` runs once http2 has written it. Returns false where the stream asks the sender to wait for 'drain'. */
export type MessageSender = (message: unknown, onSent: () => void) => boolean;

/** The part of grpc-js's server call object (a non-public field of its stream classes) this module uses. */
interface InnerCall {
  sendMessage(message: unknown, callback: () => void): void;
}

/**
 * A sender that queues straight on the http2 stream, or undefined where the call object does
 * not look like the grpc-js this project pins (a fake in a test, another grpc-js version).
 * Every message of the stream must then go through it, and the caller bounds what it has
 * queued by counting the bytes whose `onSent` has not run: the stream never asks it to wait.
 */
export function directSender(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
): MessageSender | undefined {
  const inner = (call as unknown as { call?: Partial<InnerCall> }).call;
  if (typeof inner?.sendMessage !== 'function') return undefined;
  const send = inner.sendMessage.bind(inner);
  return (message, onSent) => {
    send(message, onSent);
    return true;
  };
}

/** The sender for a call: direct where grpc-js allows it, else the stream's own write. */
export function senderFor(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
): MessageSender {
  return directSender(call) ?? ((message, onSent) => call.write(message, onSent));
}
