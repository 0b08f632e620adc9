/**
 * Validation shared by the validating webhook, the controller and the sidecar:
 *  1. the JSON schema (lib/policy/schema.ts) with defaults applied, through ajv;
 *  2. the schema's own CEL `x-kubernetes-validations` and list-map keys, so rules.yaml
 *     obeys exactly what the API server enforces on the CRD;
 *  3. what no schema can say: regexes compile, CEL conditions type-check against the
 *     signal, JSONPaths parse, metric names are unique, label sources exist.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { PolicyIssue } from '../errors.ts';
import { compileCondition, evaluateSelfRule } from './cel.ts';
import { compileJsonPath } from './jsonpath.ts';
import { policySpecSchema, rulesFileSchema } from './schema.ts';
import type { Rule } from './types.ts';

type Json = Record<string, unknown>;

let ajv: Ajv | undefined;
function getAjv(): Ajv {
  if (ajv) return ajv;
  // strictTypes is off for one reason: Kubernetes' int-or-string puts `pattern` beside an
  // untyped anyOf (it applies to the string branch), which ajv's type strictness refuses.
  ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    strict: true,
    strictTypes: false,
    allowUnionTypes: true,
  });
  for (const keyword of [
    'x-kubernetes-validations',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-int-or-string',
    'x-kubernetes-preserve-unknown-fields',
  ]) {
    ajv.addKeyword({ keyword });
  }
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  return ajv;
}

const compiled = new Map<object, ValidateFunction>();
function validator(schema: object): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = getAjv().compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/** `/rules/0/match/path` under `spec` → `spec.rules[0].match.path`. */
export function jsonPointerToPath(prefix: string, pointer: string): string {
  let out = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out || '(root)';
}

function ajvIssue(prefix: string, e: ErrorObject): PolicyIssue {
  const path = jsonPointerToPath(prefix, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return { path, message: `unknown field ${JSON.stringify(p.additionalProperty)}` };
    case 'required':
      return { path, message: `missing required field ${JSON.stringify(p.missingProperty)}` };
    case 'enum':
      return {
        path,
        message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

/** Walks schema and value together, evaluating CEL rules and list-map key uniqueness. */
function checkKubernetesRules(schema: Json, value: unknown, path: string, issues: PolicyIssue[]): void {
  if (value === undefined || value === null) return;
  const rules = schema['x-kubernetes-validations'] as Array<{ rule: string; message: string }> | undefined;
  for (const r of rules ?? []) {
    let ok: boolean;
    try {
      ok = evaluateSelfRule(r.rule, value);
    } catch {
      ok = false;
    }
    if (!ok) issues.push({ path, message: r.message });
  }
  if (Array.isArray(value)) {
    const keys = schema['x-kubernetes-list-map-keys'] as string[] | undefined;
    if (schema['x-kubernetes-list-type'] === 'map' && keys) {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const k = JSON.stringify(keys.map((key) => (item as Json)?.[key]));
        if (seen.has(k))
          issues.push({
            path: `${path}[${i}]`,
            message: `duplicate entry with ${keys.join(', ')} ${k.slice(1, -1)}`,
          });
        seen.add(k);
      });
    }
    const items = schema.items as Json | undefined;
    if (items) {
      for (const [i, item] of value.entries()) checkKubernetesRules(items, item, `${path}[${i}]`, issues);
    }
    return;
  }
  if (typeof value === 'object') {
    const props = schema.properties as Record<string, Json> | undefined;
    for (const [k, sub] of Object.entries(props ?? {})) {
      checkKubernetesRules(sub, (value as Json)[k], path ? `${path}.${k}` : k, issues);
    }
  }
}

function checkRegex(
  source: string | undefined,
  path: string,
  issues: PolicyIssue[],
  needGroup = false,
): void {
  if (source === undefined) return;
  try {
    const re = new RegExp(source);
    if (needGroup && new RegExp(`${re.source}|`).exec('')!.length < 2) {
      issues.push({ path, message: 'regex needs a capture group around the number' });
    }
  } catch (err) {
    issues.push({ path, message: `regex does not compile: ${(err as Error).message}` });
  }
}

/** Signal fields a label may read (dot paths into sidecar/signal/types.ts). */
const LABEL_SOURCES = new Set([
  'protocol',
  'direction',
  'operation',
  'status',
  'outcome',
  'policy',
  'source.ip',
  'source.port',
  'destination.ip',
  'destination.port',
  'destination.host',
  'pod.name',
  'pod.namespace',
  'http.method',
  'http.path',
  'http.host',
  'http.statusCode',
  'grpc.service',
  'grpc.method',
  'grpc.statusCode',
  'db.system',
  'db.operation',
  'db.table',
  'db.errorCode',
  'tls.sni',
  'tls.version',
  'llm.provider',
  'llm.operation',
  'llm.model',
  'llm.finishReason',
  'mcp.method',
  'mcp.tool',
]);
export const LABEL_SOURCE_FIELDS: ReadonlySet<string> = LABEL_SOURCES;

function checkRules(rules: Rule[] | undefined, prefix: string, issues: PolicyIssue[]): void {
  const metricOwners = new Map<string, string>();
  (rules ?? []).forEach((rule, i) => {
    const at = `${prefix}rules[${i}]`;
    checkRegex(rule.match?.host, `${at}.match.host`, issues);
    checkRegex(rule.match?.path, `${at}.match.path`, issues);
    checkRegex(rule.outcome?.failure?.bodyRegex, `${at}.outcome.failure.bodyRegex`, issues);
    checkRegex(rule.outcome?.success?.bodyRegex, `${at}.outcome.success.bodyRegex`, issues);
    (rule.extract ?? []).forEach((ex, j) => {
      const ep = `${at}.extract[${j}]`;
      const owner = metricOwners.get(ex.metric);
      if (owner)
        issues.push({
          path: `${ep}.metric`,
          message: `duplicate metric name ${JSON.stringify(ex.metric)} (also in ${owner})`,
        });
      else metricOwners.set(ex.metric, ep);
      checkRegex(ex.regex, `${ep}.regex`, issues, true);
      if (ex.jsonPath !== undefined) {
        try {
          compileJsonPath(ex.jsonPath);
        } catch (err) {
          issues.push({ path: `${ep}.jsonPath`, message: (err as Error).message });
        }
      }
      for (const [label, field] of Object.entries(ex.labels ?? {})) {
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label))
          issues.push({ path: `${ep}.labels`, message: `invalid label name ${JSON.stringify(label)}` });
        if (!LABEL_SOURCES.has(field)) {
          issues.push({
            path: `${ep}.labels.${label}`,
            message: `unknown signal field ${JSON.stringify(field)}; use one of ${[...LABEL_SOURCES].join(', ')}`,
          });
        }
      }
    });
    (rule.alerts ?? []).forEach((alert, j) => {
      try {
        compileCondition(alert.condition);
      } catch (err) {
        issues.push({ path: `${at}.alerts[${j}].condition`, message: `CEL: ${(err as Error).message}` });
      }
    });
  });
}

function validateDocument(schema: Json, doc: unknown, prefix: string): PolicyIssue[] {
  const fn = validator(schema);
  if (!fn(doc)) return (fn.errors ?? []).map((e) => ajvIssue(prefix, e));
  const issues: PolicyIssue[] = [];
  checkKubernetesRules(schema, doc, prefix, issues);
  const d = doc as { rules?: Rule[]; redaction?: { patterns?: Array<{ regex: string }> } };
  for (const [i, p] of (d.redaction?.patterns ?? []).entries()) {
    checkRegex(p.regex, `${prefix ? `${prefix}.` : ''}redaction.patterns[${i}].regex`, issues);
  }
  checkRules(d.rules, prefix ? `${prefix}.` : '', issues);
  return issues;
}

/**
 * Validates an ObservationPolicy spec and fills in its defaults in place (as the API server
 * would). Returns every problem, each with the path of its field; empty means valid.
 */
export function validatePolicySpec(spec: unknown): PolicyIssue[] {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    return [{ path: 'spec', message: 'must be an object' }];
  return validateDocument(policySpecSchema, spec, 'spec');
}

/** Validates a parsed rules.yaml document and fills in its defaults in place. */
export function validateRulesDocument(doc: unknown): PolicyIssue[] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return [{ path: '(root)', message: 'must be a mapping' }];
  return validateDocument(rulesFileSchema, doc, '');
}
