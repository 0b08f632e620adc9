/**
 * Turns what a parser saw (a Transaction on a connection) into the TransactionSignal of the
 * output contract. Runs once per transaction, so it builds every signal with the same
 * property order (stable hidden classes) and never copies bodies: payloads stay on the
 * Transaction for enrichers and rules and are never part of a signal.
 */
import { randomUUID } from 'node:crypto';
import type { ConnectionInfo, Transaction } from '../protocols/types.ts';
import type { PodRef, SystemSignal, TransactionSignal } from './types.ts';

/** Who this sidecar speaks for; stamped on every signal. */
export interface SignalContext {
  pod?: PodRef;
  policy?: string;
}

/** Unique per signal across pods and restarts; exporters and backends dedupe on it. */
export const newSignalId: () => string = randomUUID;

/** RFC 3339 with milliseconds, UTC. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** `api.openai.com:443` → `api.openai.com`; `[::1]:8080` → `::1`. */
export function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(1, end) : host;
  }
  const colon = host.indexOf(':');
  // More than one colon and no brackets: a bare IPv6 address, keep it whole.
  if (colon >= 0 && host.indexOf(':', colon + 1) < 0) return host.slice(0, colon);
  return host;
}

function roundMs(ms: number): number {
  return ms > 0 ? Math.round(ms * 1000) / 1000 : 0;
}

export function buildTransactionSignal(
  tx: Transaction,
  conn: ConnectionInfo,
  ctx: SignalContext = {},
): TransactionSignal {
  const http = tx.http;
  const host = http?.host !== undefined ? hostWithoutPort(http.host) : conn.tls?.sni;
  const signal: TransactionSignal = {
    id: newSignalId(),
    kind: 'transaction',
    timestamp: rfc3339(tx.startMs),
    pod: ctx.pod,
    policy: ctx.policy,
    protocol: tx.protocol,
    direction: conn.direction,
    source: { ip: conn.client.ip, port: conn.client.port },
    destination:
      host !== undefined && host !== ''
        ? { ip: conn.server.ip, port: conn.server.port, host }
        : { ip: conn.server.ip, port: conn.server.port },
    operation:
      tx.operation ??
      (http?.method !== undefined ? `${http.method} ${http.path ?? ''}`.trimEnd() : undefined),
    status: tx.status ?? http?.statusCode,
    latencyMs: tx.endMs >= tx.startMs ? roundMs(tx.endMs - tx.startMs) : undefined,
    requestBytes: tx.requestBytes,
    responseBytes: tx.responseBytes,
    complete: tx.complete,
    http: http === undefined ? undefined : { ...http },
    grpc: tx.grpc,
    websocket: tx.websocket,
    db: tx.db,
    tls:
      conn.tls === undefined
        ? undefined
        : conn.tls.version !== undefined || conn.tls.sni !== undefined
          ? { sni: conn.tls.sni, version: conn.tls.version, decrypted: conn.tls.decrypted }
          : { decrypted: conn.tls.decrypted },
    llm: undefined,
    mcp: tx.mcp,
    metrics: undefined,
    outcome: undefined,
    alerts: undefined,
  };
  return signal;
}

export function buildSystemSignal(
  timestampMs: number,
  sample: Pick<SystemSignal, 'cpu' | 'memory' | 'gpu'>,
  ctx: SignalContext = {},
): SystemSignal {
  return {
    id: newSignalId(),
    kind: 'system',
    timestamp: rfc3339(timestampMs),
    pod: ctx.pod,
    policy: ctx.policy,
    cpu: sample.cpu,
    memory: sample.memory,
    gpu: sample.gpu,
  };
}
