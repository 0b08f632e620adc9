/**
 * The last stage: where signals leave the sidecar. Every sink gets every signal, after
 * redaction, on the capture path, so write() is synchronous, never blocks and never throws:
 * a sink that delivers over a network or to a slow reader queues (bounded) and counts what
 * it drops. A signal is serialized once, and only when some sink asks for JSON.
 */
import type { RulesFile } from '../../lib/policy/types.ts';
import type { Signal } from '../signal/types.ts';

export interface SinkStats {
  /** Signals handed to write(). */
  received: number;
  /** Signals held now and not yet delivered (a queue, a batch in flight). */
  queued: number;
  /** Signals lost, by reason; every drop is counted. */
  dropped: Readonly<Record<string, number>>;
  /** The last delivery failure, for status pages. */
  lastError?: string;
}

export interface Sink {
  /** Names it in stats and status pages: `prometheus`, `ndjson`, `exporter`, ... */
  readonly name: string;
  /** Whether write() wants the signal's JSON now; read per signal, so it may change. */
  readonly wantsJson: boolean;
  /** One redacted signal, and its JSON when wantsJson. The signal is shared: never change it. */
  write(signal: Signal, json: string | undefined): void;
  /** The rules file changed: follow what it configures for this sink. */
  reload?(rules: RulesFile): void;
  stats(): SinkStats;
  /** Delivers what it holds within graceMs (what it cannot is counted as dropped), then lets go. */
  close(graceMs: number): Promise<void>;
}

/** The sinks in force, as one. */
export interface Sinks {
  write(signal: Signal): void;
  reload(rules: RulesFile): void;
  /** Each sink's stats, by name. */
  stats(): Record<string, SinkStats>;
  /** Closes every sink at once, each with the same grace. */
  close(graceMs: number): Promise<void>;
}

/** Fans signals out to `sinks` in order; absent entries (sinks turned off) are left out. */
export function createSinks(sinks: ReadonlyArray<Sink | undefined>): Sinks {
  const list = sinks.filter((s): s is Sink => s !== undefined);
  return {
    write(signal) {
      let json: string | undefined;
      for (const sink of list) {
        if (json === undefined && sink.wantsJson) json = JSON.stringify(signal);
        sink.write(signal, json);
      }
    },
    reload(rules) {
      for (const sink of list) sink.reload?.(rules);
    },
    stats() {
      const out: Record<string, SinkStats> = {};
      for (const sink of list) out[sink.name] = sink.stats();
      return out;
    },
    async close(graceMs) {
      await Promise.all(list.map((sink) => sink.close(graceMs)));
    },
  };
}
