/**
 * Database metrics from PostgreSQL and MySQL transactions: calls and latency by system,
 * operation and normalized statement, errors by code. Statements come from traffic, so the
 * number of distinct statement labels is capped (the rest are counted as `other`), and a
 * statement is always normalized again here: metric labels never carry literals, whatever
 * the policy lets signals carry.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../../../lib/names.ts';
import { labelLimiter, UNKNOWN_LABEL } from '../../metrics/labels.ts';
import type { Transaction } from '../types.ts';
import { normalizeSql } from './normalize.ts';

export const DB_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
export const DEFAULT_MAX_STATEMENTS = 500;
/** Normalized labels are short; a longer statement is cut for the label only. */
const LABEL_MAX_LENGTH = 256;

export interface DbMetrics {
  observe(tx: Transaction): void;
}

export function registerDbMetrics(registry: Registry, maxStatements = DEFAULT_MAX_STATEMENTS): DbMetrics {
  const calls = new Counter({
    name: `${METRIC_PREFIX}db_client_operations_total`,
    help: 'Database statements observed, by system, operation, normalized statement and status (ok or the error code).',
    labelNames: ['system', 'operation', 'statement', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}db_client_operation_duration_seconds`,
    help: 'Database statement latency, first request byte to last response byte.',
    labelNames: ['system', 'operation'],
    buckets: DB_DURATION_BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: `${METRIC_PREFIX}db_client_errors_total`,
    help: 'Database errors by system and code (SQLSTATE or MySQL error number).',
    labelNames: ['system', 'code'],
    registers: [registry],
  });
  const rows = new Counter({
    name: `${METRIC_PREFIX}db_client_rows_total`,
    help: 'Rows returned or affected, by system and operation.',
    labelNames: ['system', 'operation'],
    registers: [registry],
  });
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
