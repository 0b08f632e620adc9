/**
 * gRPC metrics: calls by service, method and status code, latency, and messages per
 * direction. Service and method names come from traffic, so distinct pairs are capped
 * (the rest are counted as `other`).
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../../../lib/names.ts';
import { labelLimiter, OTHER_LABEL, UNKNOWN_LABEL } from '../../metrics/labels.ts';
import type { Transaction } from '../types.ts';
import { GRPC_STATUS_NAMES } from './status.ts';

export const GRPC_DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];
export const DEFAULT_MAX_METHODS = 500;

export interface GrpcMetrics {
  observe(tx: Transaction): void;
}

export function registerGrpcMetrics(registry: Registry, maxMethods = DEFAULT_MAX_METHODS): GrpcMetrics {
  const calls = new Counter({
    name: `${METRIC_PREFIX}grpc_client_calls_total`,
    help: 'gRPC calls by service, method and status (code number and name).',
    labelNames: ['service', 'method', 'code', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}grpc_client_call_duration_seconds`,
    help: 'gRPC call latency, first request byte to last response byte.',
    labelNames: ['service', 'method'],
    buckets: GRPC_DURATION_BUCKETS,
    registers: [registry],
  });
  const messages = new Counter({
    name: `${METRIC_PREFIX}grpc_client_messages_total`,
    help: 'gRPC messages by service, method and direction (sent = request, received = response).',
    labelNames: ['service', 'method', 'direction'],
    registers: [registry],
  });
  const methodLabel = labelLimiter(maxMethods);
  return {
    observe(tx) {
      const g = tx.grpc;
      if (tx.protocol !== 'grpc' || g === undefined) return;
      let service = g.service ?? UNKNOWN_LABEL;
      let method = g.method ?? UNKNOWN_LABEL;
      if (methodLabel(`${service}/${method}`) === OTHER_LABEL) {
        service = OTHER_LABEL;
        method = OTHER_LABEL;
      }
      const code = g.statusCode;
      calls.inc({
        service,
        method,
        code: code === undefined ? 'unknown' : String(code),
        status: code === undefined ? 'unknown' : (GRPC_STATUS_NAMES[code] ?? 'UNKNOWN'),
      });
      duration.observe({ service, method }, Math.max(0, tx.endMs - tx.startMs) / 1000);
      if (g.requestMessages) messages.inc({ service, method, direction: 'sent' }, g.requestMessages);
      if (g.responseMessages) messages.inc({ service, method, direction: 'received' }, g.responseMessages);
    },
  };
}
