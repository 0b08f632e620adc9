/**
 * One Redactor per rules load: the policy's header names, JSON fields and patterns merged
 * with the built-ins and compiled once. Everything that leaves the sidecar goes through
 * it: signals (before printing or exporting), bodies or JSON content an enricher keeps,
 * and log lines (see redactingStream).
 */
// Before any policy regex is compiled: a bound on backtracking over untrusted bodies.
import '../../lib/regex-safety.ts';
import type { RedactionSpec } from '../../lib/policy/types.ts';
import { normalizeSql } from '../protocols/sql/index.ts';
import type { Signal } from '../signal/types.ts';
import {
  BUILTIN_HEADERS,
  BUILTIN_JSON_FIELDS,
  BUILTIN_PATTERN,
  builtinReplacer,
  REDACTED,
} from './builtins.ts';

export interface Redactor {
  /** A copy of the headers with credential values replaced and key-like strings masked. */
  headers(headers: Record<string, string>): Record<string, string>;
  /** Key-like strings and the policy's patterns replaced. */
  text(text: string): string;
  /** A deep copy of a JSON value with configured fields redacted and strings masked. */
  json(value: unknown): unknown;
  /** A JSON body (text or bytes): redacted as JSON when it parses, as text otherwise. */
  body(body: string | Buffer): string;
  /** The signal, redacted in place and returned. */
  signal<S extends Signal>(signal: S): S;
}

interface CompiledPattern {
  regex: RegExp;
  replacement: string;
}

/** Signal fields that never carry user data: skipped by the walk, for speed. */
const SAFE_KEYS = new Set([
  'id',
  'kind',
  'timestamp',
  'protocol',
  'direction',
  'source',
  'ip',
  'port',
  'status',
  'latencyMs',
  'requestBytes',
  'responseBytes',
  'complete',
  'metrics',
  'outcome',
  'pod',
  'policy',
  'cpu',
  'memory',
  'gpu',
]);

export type RedactionConfig = Pick<RedactionSpec, 'headers' | 'jsonFields' | 'patterns'> & {
  sql?: RedactionSpec['sql'];
};

export function createRedactor(config: Partial<RedactionConfig> = {}): Redactor {
  const headerNames = new Set([...BUILTIN_HEADERS, ...(config.headers ?? []).map((h) => h.toLowerCase())]);
  const jsonFields = new Set([
    ...BUILTIN_JSON_FIELDS,
    ...(config.jsonFields ?? []).map((f) => f.toLowerCase()),
  ]);
  const patterns: CompiledPattern[] = (config.patterns ?? []).map((p) => ({
    regex: new RegExp(p.regex, 'g'),
    replacement: p.replacement ?? REDACTED,
  }));
  const normalize = (config.sql ?? 'normalized') === 'normalized';

  function text(value: string): string {
    let out = value.replace(BUILTIN_PATTERN, builtinReplacer);
    for (const p of patterns) out = out.replace(p.regex, p.replacement);
    return out;
  }

  function headers(input: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name in input) {
      const value = input[name] as string;
      out[name] = headerNames.has(name.toLowerCase()) ? redactCredentialHeader(name, value) : text(value);
    }
    return out;
  }

  function json(value: unknown): unknown {
    if (typeof value === 'string') return text(value);
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(json);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = jsonFields.has(key.toLowerCase()) && v !== null ? REDACTED : json(v);
    }
    return out;
  }

  function body(input: string | Buffer): string {
    const raw = typeof input === 'string' ? input : input.toString('utf8');
    const first = raw.trimStart()[0];
    if (first === '{' || first === '[') {
      try {
        return JSON.stringify(json(JSON.parse(raw)));
      } catch {
        // not JSON after all (or truncated): fall through to text
      }
    }
    return text(raw);
  }

  /** Walks a free-form part of a signal (http, llm, mcp, alerts...) redacting strings in place. */
  function walk(record: Record<string, unknown>): void {
    for (const key in record) {
      if (SAFE_KEYS.has(key)) continue;
      const v = record[key];
      if (typeof v === 'string') record[key] = text(v);
      else if (v !== null && typeof v === 'object') {
        if (key === 'requestHeaders' || key === 'responseHeaders') {
          record[key] = headers(v as Record<string, string>);
        } else if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            const item: unknown = v[i];
            if (typeof item === 'string') v[i] = text(item);
            else if (item !== null && typeof item === 'object') walk(item as Record<string, unknown>);
          }
        } else walk(v as Record<string, unknown>);
      }
    }
  }

  function signal<S extends Signal>(s: S): S {
    if (normalize && s.kind === 'transaction' && s.db?.statement !== undefined) {
      const original = s.db.statement;
      // Idempotent: parsers may have normalized already; this guarantees it whatever they did.
      s.db.statement = normalizeSql(original, { dialect: s.db.system });
      // Some parsers use the statement itself as the operation: it must not leak the literals.
      if (s.operation === original) s.operation = s.db.statement;
    }
    walk(s as unknown as Record<string, unknown>);
    return s;
  }

  return { headers, text, json, body, signal };
}

/** Keeps the auth scheme (`Bearer`, `Basic`) of Authorization-like headers; the rest goes. */
function redactCredentialHeader(name: string, value: string): string {
  const lower = name.toLowerCase();
  if (lower === 'authorization' || lower === 'proxy-authorization') {
    const space = value.indexOf(' ');
    if (space > 0 && space < 20) return `${value.slice(0, space)} ${REDACTED}`;
  }
  return REDACTED;
}
