/**
 * The metrics listener (--listen-metrics-urls): a plain HTTP server, apart from the gRPC
 * client port as etcd's, serving /metrics, /health, /livez, /readyz, the dashboard page
 * (/dashboard, with /dashboard.js beside it) and its live feed (/dashboard/events, server-
 * sent events: one JSON snapshot per second, to at most SSE_CLIENTS_MAX clients).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../common/logger.js';
import type { HealthAnswer } from './health.js';

/** Most dashboards following the live feed at once; more are answered 503. */
export const SSE_CLIENTS_MAX = 16;

/** What the listener serves. */
export interface ListenerRoutes {
  metrics(): Promise<{ contentType: string; body: string }>;
  health(query: URLSearchParams): Promise<HealthAnswer>;
  probe(which: 'livez' | 'readyz', query: URLSearchParams): Promise<HealthAnswer>;
  /** The snapshot a new feed client gets at once (later ones come through broadcast). */
  snapshot(): unknown;
}

/**
 * A file of the dashboard: next to this module when it runs from source, or in the source
 * tree when it runs compiled from dist/ (tsc copies no HTML).
 */
function dashboardFile(name: string): string {
  const here = fileURLToPath(new URL(`./${name}`, import.meta.url));
  if (existsSync(here)) return here;
  const source = here.replace(/([/\\])dist[/\\]src[/\\]/, '$1src$1');
  if (existsSync(source)) return source;
  throw new Error(`dashboard file ${name} not found (looked at ${here} and ${source})`);
}

/** Security headers of the dashboard's responses: nothing but its own script runs. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The HTTP listeners of one member. */
export class MetricsListener {
  private readonly servers: Server[] = [];
  private readonly feedClients = new Set<ServerResponse>();
  private readonly page: { html: string; js: string };

  constructor(
    private readonly routes: ListenerRoutes,
    private readonly log: Logger,
  ) {
    this.page = {
      html: readFileSync(dashboardFile('dashboard.html'), 'utf8'),
      js: readFileSync(dashboardFile('dashboard.js'), 'utf8'),
    };
  }

  /** Number of dashboards following the feed. */
  get feedClientCount(): number {
    return this.feedClients.size;
  }

  /** Listens on each URL (http://host:port). */
  async listen(urls: readonly string[]): Promise<void> {
    for (const raw of urls) {
      const u = new URL(raw);
      const server = createServer((req, res) => this.serve(req, res));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(u.port), u.hostname.replace(/^\[|\]$/g, ''), () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.servers.push(server);
    }
    if (urls.length > 0) this.log.info({ urls }, 'metrics listener serving');
  }

  /** Sends one snapshot to every feed client that keeps up (a slow one skips a beat rather than buffer). */
  broadcast(snapshot: unknown): void {
    if (this.feedClients.size === 0) return;
    const frame = `data: ${JSON.stringify(snapshot)}\n\n`;
    for (const res of this.feedClients) {
      if (res.writableNeedDrain) continue;
      res.write(frame);
    }
  }

  /** Ends the feed and stops listening. */
  async close(): Promise<void> {
    for (const res of this.feedClients) res.end();
    this.feedClients.clear();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
    this.servers.length = 0;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    const answer = (p: Promise<HealthAnswer>): void => {
      p.then(
        (a) => this.send(res, a.status, a.contentType, a.body),
        (err: Error) => this.send(res, 500, 'text/plain; charset=utf-8', `${err.message}\n`),
      );
    };
    switch (url.pathname) {
      case '/metrics':
        this.routes.metrics().then(
          (m) => this.send(res, 200, m.contentType, m.body),
          (err: Error) => this.send(res, 500, 'text/plain; charset=utf-8', `${err.message}\n`),
        );
        return;
      case '/health':
        answer(this.routes.health(url.searchParams));
        return;
      case '/livez':
      case '/readyz':
        answer(this.routes.probe(url.pathname.slice(1) as 'livez' | 'readyz', url.searchParams));
        return;
      case '/dashboard':
      case '/dashboard/':
        this.send(res, 200, 'text/html; charset=utf-8', this.page.html, PAGE_HEADERS);
        return;
      case '/dashboard.js':
        this.send(res, 200, 'text/javascript; charset=utf-8', this.page.js, PAGE_HEADERS);
        return;
      case '/favicon.ico':
        // No icon; an empty answer keeps the browser from logging a failed request.
        res.writeHead(204, { 'cache-control': 'max-age=86400' });
        res.end();
        return;
      case '/dashboard/events':
        this.follow(req, res);
        return;
      default:
        this.send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  }

  private follow(req: IncomingMessage, res: ServerResponse): void {
    if (this.feedClients.size >= SSE_CLIENTS_MAX) {
      this.send(res, 503, 'text/plain; charset=utf-8', `too many dashboard clients (${SSE_CLIENTS_MAX})\n`, {
        'retry-after': '5',
      });
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    // A lost connection is retried by the browser after this many milliseconds.
    res.write('retry: 2000\n\n');
    res.write(`data: ${JSON.stringify(this.routes.snapshot())}\n\n`);
    this.feedClients.add(res);
    const drop = (): void => {
      this.feedClients.delete(res);
    };
    req.on('close', drop);
    res.on('error', drop);
  }

  private send(
    res: ServerResponse,
    status: number,
    contentType: string,
    body: string,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': contentType, ...headers });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }
}
