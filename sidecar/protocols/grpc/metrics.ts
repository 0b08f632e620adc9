/**
 * gRPC metrics: calls by service, method and status code, latency, and messages per
 * direction. Service and method names come from traffic, so distinct pairs are capped
 * (the rest are counted as `other`).
 */
import type { Registry } from 'prom-client';
import { GRPC_METRICS } from '../../metrics/catalogue.ts';
import { counter, histogram } from '../../metrics/instruments.ts';
import { labelLimiter, OTHER_LABEL, UNKNOWN_LABEL } from '../../metrics/labels.ts';
import type { Transaction } from '../types.ts';
import { GRPC_STATUS_NAMES } from './status.ts';

export const DEFAULT_MAX_METHODS = 500;

export interface GrpcMetrics {
  observe(tx: Transaction): void;
}

export function registerGrpcMetrics(registry: Registry, maxMethods = DEFAULT_MAX_METHODS): GrpcMetrics {
  const calls = counter(registry, GRPC_METRICS.calls);
  const duration = histogram(registry, GRPC_METRICS.duration);
  const messages = counter(registry, GRPC_METRICS.messages);
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
