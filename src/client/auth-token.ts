/**
 * Username/password auth for the SDK, as etcd clients do it: Authenticate once for a simple
 * token, send it as the `token` metadata of every call (unary and streams, through a gRPC
 * interceptor), and forget it when a member answers "invalid auth token" (expired, or the
 * member restarted) so the next call authenticates again.
 */
import * as grpc from '@grpc/grpc-js';

/** A user's credentials. */
export interface AuthCredentials {
  /** The user name, as `etcdctl user add` made it. */
  readonly username: string;
  /** The user's password (sent to Authenticate only; calls carry the token). */
  readonly password: string;
}

/** The method Authenticate is reached under (it carries no token itself). */
const AUTHENTICATE_PATH = '/etcdserverpb.Auth/Authenticate';

/** Holds the current token and fetches a new one when there is none. */
export class TokenSource {
  private token: string | undefined;
  private fetching: Promise<string> | undefined;

  constructor(private readonly authenticate: () => Promise<string>) {}

  /** The current token, authenticating first when there is none (concurrent callers share one Authenticate). */
  get(): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    this.fetching ??= this.authenticate().then(
      (t) => {
        this.token = t;
        this.fetching = undefined;
        return t;
      },
      (err: unknown) => {
        this.fetching = undefined;
        throw err;
      },
    );
    return this.fetching;
  }

  /** Forgets the token (a member refused it); the next call authenticates again. */
  invalidate(): void {
    this.token = undefined;
  }

  /** An interceptor that adds the token to every call but Authenticate and forgets it on UNAUTHENTICATED. */
  interceptor(): grpc.Interceptor {
    return (options, nextCall) => {
      const path = (options as { method_definition?: { path?: string } }).method_definition?.path;
      if (path === AUTHENTICATE_PATH) return new grpc.InterceptingCall(nextCall(options));
      return new grpc.InterceptingCall(nextCall(options), {
        start: (metadata, listener, next) => {
          const watched: grpc.Listener = {
            onReceiveStatus: (status, nextStatus) => {
              if (status.code === grpc.status.UNAUTHENTICATED) this.invalidate();
              nextStatus(status);
            },
          };
          this.get().then(
            (token) => {
              metadata.set('token', token);
              next(metadata, watched);
            },
            (err: { grpcStatus?: number; message?: string }) => {
              // The call fails with Authenticate's own status and text (wrong password, no leader...).
              listener.onReceiveStatus({
                code: err.grpcStatus ?? grpc.status.UNAUTHENTICATED,
                details: err.message ?? 'authentication failed',
                metadata: new grpc.Metadata(),
              });
            },
          );
        },
      });
    };
  }
}
