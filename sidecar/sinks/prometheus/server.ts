/**
 * The sidecar's HTTP endpoint on :2112: `/metrics` (Prometheus text), `/healthz` (the
 * process answers) and `/readyz` (rules loaded and capture running). Plain node:http: three
 * routes do not need a framework in the sidecar's memory.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { SIDECAR_PATHS } from '../../../lib/names.ts';

export interface MetricsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  /** Why the sidecar is not ready, or undefined when it is. */
  notReady: () => string | undefined;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === SIDECAR_PATHS.metrics) {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (err: unknown) =>
          res
            .writeHead(500, { 'content-type': 'text/plain' })
            .end(`metrics failed: ${(err as Error).message}\n`),
      );
    } else if (path === SIDECAR_PATHS.healthz) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === SIDECAR_PATHS.readyz) {
      const reason = options.notReady();
      if (reason === undefined) res.writeHead(200, { 'content-type': 'text/plain' }).end('ready\n');
      else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${reason}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
