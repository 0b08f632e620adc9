/** The pipeline's and reassembly's plain counters on /metrics, read at scrape time. */
import type { Registry } from 'prom-client';
import {
  bindReading,
  CAPTURE_METRICS as C,
  type CounterDef,
  type GaugeDef,
  PIPELINE_METRICS as P,
  type Reading,
} from '../metrics/index.ts';
import type { Pipeline } from './pipeline.ts';

export function bindPipelineMetrics(registry: Registry, pipeline: Pipeline): void {
  const c = pipeline.counters;
  const r = c.reassembly;
  const bind = <L extends string>(def: CounterDef<L> | GaugeDef<L>, read: () => Reading<L>): void =>
    bindReading(registry, def, read);
  bind(C.packets, () => c.packets);
  bind(C.bytes, () => c.bytes);
  bind(C.ignoredPackets, () => c.ignoredPackets);
  bind(C.malformedPackets, () => c.malformedPackets);
  bind(C.fragments, () => c.fragments);
  bind(P.connectionsOpened, () => r.connectionsOpened);
  bind(P.connectionsEvicted, () => r.connectionsEvicted);
  bind(P.connectionsExpired, () => r.connectionsExpired);
  bind(P.connectionsUndetected, () => c.connectionsUndetected);
  bind(P.gaps, () => r.gaps);
  bind(P.gapBytes, () => r.gapBytes);
  bind(P.retransmittedBytes, () => r.retransmittedBytes);
  bind(P.transactions, () => c.transactions);
  bind(P.internalErrors, () => c.internalErrors);
  bind(P.connectionsActive, () => c.activeConnections());
  bind(P.bufferedBytes, () => r.bufferedBytes);
  bind(P.parseErrors, () =>
    [...c.parseErrorsBy.values()].map((e) => [{ protocol: e.protocol, code: e.code }, e.count] as const),
  );
  bind(P.notParsed, () =>
    [...c.notParsedBy.values()].map((e) => [{ protocol: e.protocol, reason: e.reason }, e.count] as const),
  );
  bind(P.droppedBytes, () => [
    ...[...c.droppedBy.values()].map((e) => [{ protocol: e.protocol, reason: e.reason }, e.bytes] as const),
    [{ protocol: 'tcp', reason: 'reassembly-buffer' }, r.droppedBytes] as const,
  ]);
  bind(P.dropped, () =>
    [...c.droppedBy.values()].map((e) => [{ protocol: e.protocol, reason: e.reason }, e.count] as const),
  );
}
