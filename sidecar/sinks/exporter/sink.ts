/**
 * The batched exporter as a sink that follows rules reloads: when the export settings
 * change, a new exporter takes over at once and the one it replaces flushes what it holds
 * in the background; its counts carry over, so the exporter metrics never go backwards.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../../lib/log.ts';
import type { RulesFile } from '../../../lib/policy/types.ts';
import { bindReading, EXPORTER_METRICS as M } from '../../metrics/index.ts';
import type { Sink } from '../sink.ts';
import {
  createExporter,
  type Exporter,
  type ExporterOptions,
  type ExporterStats,
  emptyExporterStats,
} from './exporter.ts';

/** Where and how to export, as the rules file (and the command line over it) say. */
export type ExportSettings = Required<
  Pick<
    ExporterOptions,
    'url' | 'format' | 'compression' | 'batchSize' | 'flushIntervalMs' | 'maxQueueSize' | 'timeoutMs'
  >
> & { apiKeyFile: string | undefined };

export interface ExporterSinkOptions {
  /** The settings for these rules; undefined: export is off. */
  settings(rules: RulesFile): ExportSettings | undefined;
  /** The rules in force at start. */
  rules: RulesFile;
  /** AXOM_API_KEY: used when the key file is absent. Never logged. */
  apiKey?: string | undefined;
  /** How long an exporter that a reload replaced may take to flush. */
  retireGraceMs: number;
  registry: Registry;
  log: Logger;
}

export interface ExporterSink extends Sink {
  /** Every exporter's counts, those a reload retired included; undefined while export is off. */
  exporterStats(): ExporterStats | undefined;
}

export function exporterSink(options: ExporterSinkOptions): ExporterSink {
  const log = options.log;
  let exporter: Exporter | undefined;
  let key = '';
  /** What exporters that a reload replaced did, once they finished flushing. */
  let retired = emptyExporterStats();
  /** Exporters replaced by a reload, still flushing: their counts stay in the totals meanwhile. */
  const retiring = new Map<Exporter, Promise<void>>();

  function configure(rules: RulesFile): void {
    const settings = options.settings(rules);
    const next = JSON.stringify(settings ?? null);
    if (next === key) return;
    key = next;
    const old = exporter;
    exporter =
      settings === undefined
        ? undefined
        : createExporter({ ...settings, apiKey: options.apiKey, log: log.child({ component: 'exporter' }) });
    if (old !== undefined) {
      retiring.set(
        old,
        old.close(options.retireGraceMs).then(() => {
          retired = addStats(retired, old.stats());
          retiring.delete(old);
        }),
      );
    }
    if (settings !== undefined)
      log.info({ url: settings.url, batchSize: settings.batchSize }, 'exporting signals');
  }

  function total(): ExporterStats {
    let sum = retired;
    for (const old of retiring.keys()) sum = addStats(sum, old.stats());
    return exporter === undefined ? sum : addStats(sum, exporter.stats());
  }
  bindExporterMetrics(options.registry, total);
  configure(options.rules);

  return {
    name: 'exporter',
    get wantsJson() {
      return exporter !== undefined;
    },
    write(_signal, json) {
      exporter?.enqueue(json as string);
    },
    reload: configure,
    stats() {
      const s = total();
      const stats = { received: s.enqueued, queued: s.queued + s.inFlight, dropped: s.dropped };
      return s.lastError === undefined ? stats : { ...stats, lastError: s.lastError };
    },
    exporterStats: () => (exporter === undefined ? undefined : total()),
    async close(graceMs) {
      await Promise.all([exporter?.close(graceMs), ...retiring.values()]);
    },
  };
}

/** The exporter's plain numbers on /metrics, read at scrape time: their declarations and fields. */
const NUMBERS = [
  [M.queued, 'queued'],
  [M.enqueued, 'enqueued'],
  [M.sentSignals, 'sentSignals'],
  [M.sentBatches, 'sentBatches'],
  [M.sentBytes, 'sentBytes'],
  [M.retries, 'retries'],
] as const;

function bindExporterMetrics(registry: Registry, stats: () => ExporterStats): void {
  for (const [def, field] of NUMBERS) bindReading(registry, def, () => stats()[field]);
  bindReading(registry, M.failures, () =>
    Object.entries(stats().failures).map(([reason, n]) => [{ reason }, n] as const),
  );
  bindReading(registry, M.dropped, () =>
    Object.entries(stats().dropped).map(([reason, n]) => [{ reason }, n] as const),
  );
}

function addStats(a: ExporterStats, b: ExporterStats): ExporterStats {
  const sum = <K extends string>(x: Record<K, number>, y: Record<K, number>): Record<K, number> => {
    const out = { ...x };
    for (const k in y) out[k] = (out[k] ?? 0) + y[k];
    return out;
  };
  const total: ExporterStats = {
    queued: a.queued + b.queued,
    inFlight: a.inFlight + b.inFlight,
    enqueued: a.enqueued + b.enqueued,
    sentSignals: a.sentSignals + b.sentSignals,
    sentBatches: a.sentBatches + b.sentBatches,
    sentBytes: a.sentBytes + b.sentBytes,
    retries: a.retries + b.retries,
    failures: sum(a.failures, b.failures),
    dropped: sum(a.dropped, b.dropped),
  };
  const lastError = b.lastError ?? a.lastError;
  if (lastError !== undefined) total.lastError = lastError;
  return total;
}
