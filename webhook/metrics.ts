/**
 * Admission metrics on the operator's registry: requests by webhook and result (injected,
 * each skip reason, error, ...) and a latency histogram from body parsed to response built.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../lib/names.ts';

export type WebhookName = 'mutate' | 'validate';

export interface AdmissionMetrics {
  observe(webhook: WebhookName, result: string, seconds: number): void;
}

export const ADMISSION_REQUESTS_TOTAL = `${METRIC_PREFIX}admission_requests_total`;
export const ADMISSION_DURATION_SECONDS = `${METRIC_PREFIX}admission_duration_seconds`;

/** Admissions take well under a millisecond; the buckets resolve that and the slow tail. */
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export function createAdmissionMetrics(registry: Registry): AdmissionMetrics {
  const existingCounter = registry.getSingleMetric(ADMISSION_REQUESTS_TOTAL) as
    | Counter<'webhook' | 'result'>
    | undefined;
  const existingHistogram = registry.getSingleMetric(ADMISSION_DURATION_SECONDS) as
    | Histogram<'webhook' | 'result'>
    | undefined;
  // Several servers on one registry (tests, a restart in-process) share the same series.
  const requests =
    existingCounter ??
    new Counter({
      name: ADMISSION_REQUESTS_TOTAL,
      help: 'Admission requests answered, by webhook and result (injected, a skip reason, error, bad_request, ...).',
      labelNames: ['webhook', 'result'] as const,
      registers: [registry],
    });
  const duration =
    existingHistogram ??
    new Histogram({
      name: ADMISSION_DURATION_SECONDS,
      help: 'Time to answer an admission request, from parsed body to response.',
      labelNames: ['webhook', 'result'] as const,
      buckets: BUCKETS,
      registers: [registry],
    });
  return {
    observe(webhook, result, seconds) {
      requests.inc({ webhook, result });
      duration.observe({ webhook, result }, seconds);
    },
  };
}
