/**
 * Tells "nothing listens" from "a TLS server, dialled without TLS": grpc-js reports both as a
 * failed connection, so when plain endpoints cannot be reached cairnctl tries a TLS handshake
 * with each (certificate not checked: only the protocol matters) and names the mismatch.
 */
import { connect } from 'node:tls';

/** How long one probe may take. */
const PROBE_TIMEOUT_MS = 1_000;

/** Whether the server at host:port completes a TLS handshake. */
function speaksTls(address: string): Promise<boolean> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The plain (not https://) endpoints, as host:port, that answer a TLS handshake. */
export async function tlsOnlyEndpoints(endpoints: readonly string[]): Promise<string[]> {
  const plain = endpoints.filter((e) => !/^https:\/\//i.test(e)).map((e) => e.replace(/^http:\/\//i, ''));
  const answers = await Promise.all(plain.map(speaksTls));
  return plain.filter((_, i) => answers[i]);
}
