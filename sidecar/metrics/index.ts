/**
 * The metrics catalogue: every metric the sidecar exports, declared once, and typed
 * prom-client instruments made from those declarations.
 */

export * from './catalogue.ts';
export { bindReading, counter, gauge, histogram, type Reading } from './instruments.ts';
export { labelLimiter, OTHER_LABEL, UNKNOWN_LABEL } from './labels.ts';
