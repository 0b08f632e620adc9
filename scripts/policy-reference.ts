/**
 * Writes docs/policy-reference.md: every field of ObservationPolicy.spec (and the fields
 * rules.yaml adds), generated from lib/policy/schema.ts so the reference cannot drift from
 * what the API server and the sidecar enforce. `--check` writes nothing and exits 1 when the
 * committed file is out of date (scripts/policy-reference.test.ts runs it in CI).
 *
 *   node scripts/policy-reference.ts [--check]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_GROUP_VERSION, POLICY_KIND } from '../lib/names.ts';
import { policySpecSchema, rulesFileSchema } from '../lib/policy/schema.ts';

type Schema = Record<string, unknown>;

export const REFERENCE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs/policy-reference.md');

interface Row {
  path: string;
  type: string;
  dflt: string;
  constraints: string;
  description: string;
}

const code = (v: unknown): string => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;

/** Table cells hold one line; pipes would end the cell. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');

function typeOf(s: Schema): string {
  if (s['x-kubernetes-int-or-string']) return 'integer or string';
  const t = s.type as string | undefined;
  if (t === 'array') {
    const items = (s.items ?? {}) as Schema;
    return `list of ${items.type === 'object' && items.properties ? 'objects' : typeOf(items)}`;
  }
  if (
    t === 'object' &&
    !s.properties &&
    s.additionalProperties &&
    typeof s.additionalProperties === 'object'
  ) {
    return `map of ${typeOf(s.additionalProperties as Schema)}`;
  }
  return t ?? 'any';
}

function constraintsOf(s: Schema): string {
  const out: string[] = [];
  const target = s.type === 'array' ? ((s.items ?? {}) as Schema) : s;
  if (Array.isArray(target.enum)) out.push(`one of ${target.enum.map(code).join(', ')}`);
  if (target.pattern !== undefined) out.push(`matches ${code(target.pattern)}`);
  if (target.minimum !== undefined) out.push(`≥ ${target.minimum}`);
  if (target.maximum !== undefined) out.push(`≤ ${target.maximum}`);
  if (target.minLength !== undefined) out.push(`at least ${target.minLength} characters`);
  if (target.maxLength !== undefined) out.push(`at most ${target.maxLength} characters`);
  if (s.minItems !== undefined) out.push(`at least ${s.minItems} items`);
  if (s.maxItems !== undefined) out.push(`at most ${s.maxItems} items`);
  if (s.maxProperties !== undefined) out.push(`at most ${s.maxProperties} entries`);
  if (Array.isArray(s['x-kubernetes-list-map-keys'])) {
    out.push(`unique ${(s['x-kubernetes-list-map-keys'] as string[]).map(code).join(', ')}`);
  }
  if (Array.isArray(target.anyOf)) {
    const alts = (target.anyOf as Schema[]).map((a) =>
      a.pattern ? `${a.type ?? 'string'} matching ${code(a.pattern)}` : String(a.type ?? 'any'),
    );
    out.push(alts.join(' or '));
  }
  return out.join('; ');
}

/** Walks a schema depth first; arrays of objects continue under `path[]`. */
function walk(
  s: Schema,
  path: string,
  rows: Row[],
  rules: Array<{ path: string; message: string; rule: string }>,
): void {
  const required = new Set((s.required as string[] | undefined) ?? []);
  for (const v of (s['x-kubernetes-validations'] as Array<{ rule: string; message: string }> | undefined) ??
    []) {
    rules.push({ path: path || '(top level)', message: v.message, rule: v.rule });
  }
  const props = (s.properties ?? {}) as Record<string, Schema>;
  for (const [name, child] of Object.entries(props)) {
    const p = path ? `${path}.${name}` : name;
    const dflt = child.default;
    rows.push({
      path: p,
      type: typeOf(child) + (required.has(name) ? ' (required)' : ''),
      dflt:
        dflt === undefined
          ? ''
          : typeof dflt === 'object' && Object.keys(dflt as object).length === 0
            ? 'filled in'
            : code(dflt),
      constraints: constraintsOf(child),
      description: String(child.description ?? ''),
    });
    if (child.type === 'object' && child.properties) walk(child, p, rows, rules);
    const items = child.items as Schema | undefined;
    if (child.type === 'array' && items?.type === 'object' && items.properties)
      walk(items, `${p}[]`, rows, rules);
  }
}

/** A Markdown table with padded columns (the layout `biome format` gives Markdown tables). */
function table(rows: readonly Row[]): string {
  const header = ['Field', 'Type', 'Default', 'Allowed values', 'Description'];
  const body = rows.map((r) => [
    cell(code(r.path)),
    cell(r.type),
    cell(r.dflt),
    cell(r.constraints),
    cell(r.description),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, 3, ...body.map((b) => [...b[i]!].length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join(' | ')} |`;
  return `${[line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')}\n`;
}

export function renderPolicyReference(): string {
  const parts: string[] = [];
  parts.push(
    '<!-- Generated by scripts/policy-reference.ts from lib/policy/schema.ts. Do not edit; run `node scripts/policy-reference.ts`. -->',
    '# ObservationPolicy reference',
    '',
    `Every field of \`${API_GROUP_VERSION}\` \`${POLICY_KIND}\` \`spec\`, from the one schema that the CRD, the`,
    'admission webhook, the operator and the sidecar all use. "filled in" means the object defaults to `{}`',
    'and the API server fills in the defaults of its fields; an empty `spec: {}` is a complete policy',
    '(built-in LLM metering, every protocol, no export). `axom-observer policy validate FILE` runs the same',
    'checks as the webhook offline; `axom-observer policy render FILE` prints the rules.yaml the operator renders.',
    '',
  );
  const specRows: Row[] = [];
  const specRules: Array<{ path: string; message: string; rule: string }> = [];
  walk(policySpecSchema, '', specRows, specRules);
  const sections = Object.keys((policySpecSchema.properties ?? {}) as object);
  for (const section of sections) {
    const top = (policySpecSchema.properties as Record<string, Schema>)[section]!;
    parts.push(`## spec.${section}`, '', String(top.description ?? ''), '');
    parts.push(
      table(
        specRows.filter(
          (r) => r.path === section || r.path.startsWith(`${section}.`) || r.path.startsWith(`${section}[]`),
        ),
      ),
    );
    const checks = specRules.filter(
      (r) => r.path === section || r.path.startsWith(`${section}.`) || r.path.startsWith(`${section}[]`),
    );
    if (checks.length > 0) {
      parts.push(
        'Cross-field checks (CEL, enforced by the API server and by the sidecar for rules.yaml):',
        '',
      );
      for (const c of checks) parts.push(`- \`${c.path}\`: ${c.message} — \`${cell(c.rule)}\``);
      parts.push('');
    }
  }
  parts.push(
    '## Semantic checks',
    '',
    'Beyond the schema, the admission webhook (and `policy validate`) refuses a policy whose regular expressions',
    '(`match.host`, `match.path`, `outcome.*.bodyRegex`, `extract.regex`, `redaction.patterns[].regex`) do not',
    'compile, whose alert `condition` is not a CEL expression over `signal` that compiles, whose `extract.jsonPath`',
    'does not parse, or whose rule, metric or alert names repeat.',
    '',
  );

  // rules.yaml: only what differs from the spec (the operator fills these in).
  const fileRows: Row[] = [];
  walk(rulesFileSchema, '', fileRows, []);
  const specPaths = new Set(specRows.map((r) => r.path));
  const extra = fileRows.filter((r) => !specPaths.has(r.path));
  parts.push(
    '## rules.yaml (what the sidecar reads)',
    '',
    'The operator renders each policy into `/etc/axom/rules.yaml` (ConfigMap `<policy>-axom-rules`). It has the',
    "spec's `capture`, `protocols`, `redaction`, `rules`, `llm`, `export` and `system` sections with every default",
    'filled in, without `selector` and `sidecar` (those act at admission), and these fields of its own:',
    '',
    table(extra),
  );
  return `${parts.join('\n').trimEnd()}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = renderPolicyReference();
  const current = existsSync(REFERENCE_PATH) ? readFileSync(REFERENCE_PATH, 'utf8') : undefined;
  if (process.argv.includes('--check')) {
    if (current !== text) {
      console.error(
        'policy-reference: docs/policy-reference.md is out of date; run node scripts/policy-reference.ts',
      );
      process.exitCode = 1;
    }
  } else if (current !== text) {
    writeFileSync(REFERENCE_PATH, text);
    console.log('policy-reference: wrote docs/policy-reference.md');
  }
}
