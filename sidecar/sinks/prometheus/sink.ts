/**
 * The Prometheus sink: each signal becomes counts and latencies in the registry (requests by
 * protocol, direction and outcome; system samples as gauges). It never needs the JSON.
 */
import type { Sink } from '../sink.ts';
import type { SidecarMetrics } from './metrics.ts';

export function prometheusSink(metrics: SidecarMetrics): Sink {
  let received = 0;
  return {
    name: 'prometheus',
    wantsJson: false,
    write(signal) {
      received++;
      if (signal.kind === 'transaction') metrics.observeTransaction(signal);
      else metrics.setSystem(signal);
      metrics.signalEmitted(signal.kind);
    },
    stats: () => ({ received, queued: 0, dropped: {} }),
    close: () => Promise.resolve(),
  };
}
