/** What an enricher is, and what the sidecar hands one when it is built. */
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/log.ts';
import type { RulesFile } from '../../lib/policy/types.ts';
import type { ConnectionInfo, Transaction } from '../protocols/types.ts';
import type { TransactionSignal } from '../signal/types.ts';

/** Adds to a signal what only this enricher knows; runs before rules and redaction. */
export type Enricher = (tx: Transaction, conn: ConnectionInfo, signal: TransactionSignal) => void;

export interface EnricherContext {
  /** The rules in force now (changes on reload; read it per call when it matters). */
  rules(): RulesFile;
  /** The sidecar's Prometheus registry: instruments come from the catalogue (sidecar/metrics). */
  registry: Registry;
  log: Logger;
}

/** Builds an enricher once, at start, with what it needs from the sidecar. */
export type EnricherFactory = (ctx: EnricherContext) => Enricher;
