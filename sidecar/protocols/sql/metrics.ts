/**
 * Database metrics from PostgreSQL and MySQL transactions: calls and latency by system,
 * operation and normalized statement, errors by code. Statements come from traffic, so the
 * number of distinct statement labels is capped (the rest are counted as `other`), and a
 * statement is always normalized again here: metric labels never carry literals, whatever
 * the policy lets signals carry.
 */
import type { Registry } from 'prom-client';
import { DB_METRICS } from '../../metrics/catalogue.ts';
import { counter, histogram } from '../../metrics/instruments.ts';
import { labelLimiter, UNKNOWN_LABEL } from '../../metrics/labels.ts';
import type { Transaction } from '../types.ts';
import { normalizeSql } from './normalize.ts';

export const DEFAULT_MAX_STATEMENTS = 500;
/** Normalized labels are short; a longer statement is cut for the label only. */
const LABEL_MAX_LENGTH = 256;

export interface DbMetrics {
  observe(tx: Transaction): void;
}

export function registerDbMetrics(registry: Registry, maxStatements = DEFAULT_MAX_STATEMENTS): DbMetrics {
  const calls = counter(registry, DB_METRICS.operations);
  const duration = histogram(registry, DB_METRICS.duration);
  const errors = counter(registry, DB_METRICS.errors);
  const rows = counter(registry, DB_METRICS.rows);
  // raw statement → label, a bounded cache in front of the limiter, which alone decides
  // which normalized statements become series (so the cap holds once the cache is full).
  const labels = new Map<string, string>();
  const statementLabel = labelLimiter(maxStatements);
  const label = (statement: string | undefined, system: 'postgresql' | 'mysql'): string => {
    if (statement === undefined) return UNKNOWN_LABEL;
    const known = labels.get(statement);
    if (known !== undefined) return known;
    const normalized = statementLabel(
      normalizeSql(statement, { dialect: system, maxLength: LABEL_MAX_LENGTH }),
    );
    if (labels.size < maxStatements * 4) labels.set(statement, normalized);
    return normalized;
  };
  return {
    observe(tx) {
      const db = tx.db;
      if (db === undefined) return;
      const operation = db.operation ?? 'unknown';
      const status = db.errorCode ?? (tx.complete ? 'ok' : 'unknown');
      calls.inc({ system: db.system, operation, statement: label(db.statement, db.system), status });
      duration.observe({ system: db.system, operation }, Math.max(0, tx.endMs - tx.startMs) / 1000);
      if (db.errorCode !== undefined) errors.inc({ system: db.system, code: db.errorCode });
      if (db.rows !== undefined && db.rows > 0) rows.inc({ system: db.system, operation }, db.rows);
    },
  };
}
