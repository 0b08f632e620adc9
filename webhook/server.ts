/**
 * The admission HTTPS server (fastify). The certificate comes from a TlsSource and is
 * swapped in place with `setSecureContext`: new connections get the new certificate,
 * open ones finish on the old, and nothing restarts, so a rotation loses no request.
 */
import type { Server as HttpsServer } from 'node:https';
import { performance } from 'node:perf_hooks';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { AdmissionRequestError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { OPERATOR_WEBHOOK_PORT, WEBHOOK_MUTATE_PATH, WEBHOOK_VALIDATE_PATH } from '../lib/names.ts';
import type { TlsMaterial, TlsSource } from '../operator/certs/source.ts';
import { createAdmissionMetrics, type WebhookName } from './metrics.ts';
import { admitPod } from './mutate.ts';
import { parseAdmissionReview, review } from './review.ts';
import type { AdmissionSettings, NamespaceLookup, PolicyLookup } from './types.ts';
import { admitPolicy } from './validate.ts';

/** Above the API server's own request limit (3 MiB) plus the AdmissionReview envelope. */
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface AdmissionServerOptions {
  /** 9443 by default; 0 picks a free port (tests). */
  port?: number;
  /** 0.0.0.0 by default. */
  host?: string;
  tls: TlsSource;
  settings: AdmissionSettings;
  policies: PolicyLookup;
  namespaces: NamespaceLookup;
  registry: Registry;
  log: Logger;
  /** Longest time a client may take to send a request (slow clients are cut off). */
  timeoutMs?: number;
  bodyLimit?: number;
}

export interface AdmissionServer {
  /** `https://host:port` as listened on. */
  url: string;
  port: number;
  close(): Promise<void>;
}

function secureContextOptions(m: TlsMaterial): { cert: string; key: string } {
  return { cert: m.cert, key: m.key };
}

/** Fastify's own request errors (bad JSON, too large, wrong content type) as one clear 400. */
function badRequestMessage(err: FastifyError): string | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body too large: ${err.message}`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `content type must be application/json: ${err.message}`;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body is empty; expected an AdmissionReview';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return err.message;
    default:
      if (err instanceof SyntaxError || err.statusCode === 400) return `malformed JSON: ${err.message}`;
      return undefined;
  }
}

export async function startAdmissionServer(opts: AdmissionServerOptions): Promise<AdmissionServer> {
  const { settings, policies, namespaces, log } = opts;
  const metrics = createAdmissionMetrics(opts.registry);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const app = Fastify({
    https: secureContextOptions(opts.tls.current()),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    requestTimeout: timeoutMs,
    connectionTimeout: timeoutMs,
    logger: false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance<HttpsServer>;

  const unsubscribe = opts.tls.onChange((m) => {
    try {
      app.server.setSecureContext(secureContextOptions(m));
      log.info('webhook serving certificate reloaded');
    } catch (err) {
      // The old certificate keeps serving; the source validates material before it announces it.
      log.error({ err }, 'cannot load the new webhook serving certificate; keeping the old one');
    }
  });

  const webhookOf = (url: string): WebhookName =>
    url.startsWith(WEBHOOK_VALIDATE_PATH) ? 'validate' : 'mutate';

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const webhook = webhookOf(request.url);
    const message = err instanceof AdmissionRequestError ? err.message : badRequestMessage(err);
    if (message !== undefined) {
      metrics.observe(webhook, 'bad_request', 0);
      log.warn({ path: request.url, reason: message }, 'bad admission request');
      return reply
        .code(400)
        .send({ error: 'Bad Request', code: new AdmissionRequestError('').code, message });
    }
    metrics.observe(webhook, 'error', 0);
    log.error({ err, path: request.url }, 'admission handler failed');
    return reply.code(500).send({ error: 'Internal Server Error', message: 'internal error' });
  });

  app.post(WEBHOOK_MUTATE_PATH, async (request) => {
    const started = performance.now();
    const req = parseAdmissionReview(request.body, 'Pod');
    const { response, result } = admitPod(req, { settings, policies, namespaces, log });
    metrics.observe('mutate', result, (performance.now() - started) / 1000);
    return review(response);
  });

  app.post(WEBHOOK_VALIDATE_PATH, async (request) => {
    const started = performance.now();
    const req = parseAdmissionReview(request.body, 'ObservationPolicy');
    const { response, result } = admitPolicy(req, log);
    metrics.observe('validate', result, (performance.now() - started) / 1000);
    return review(response);
  });

  const host = opts.host ?? '0.0.0.0';
  try {
    await app.listen({ port: opts.port ?? OPERATOR_WEBHOOK_PORT, host });
  } catch (err) {
    unsubscribe();
    await app.close().catch(() => {});
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? OPERATOR_WEBHOOK_PORT);
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  log.info({ port, host }, 'admission webhook listening');
  return {
    url: `https://${urlHost}:${port}`,
    port,
    async close() {
      unsubscribe();
      await app.close();
    },
  };
}
