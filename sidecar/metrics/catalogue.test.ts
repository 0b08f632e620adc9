import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { runSidecar } from '../index.ts';
import { CATALOGUE, counter, histogram, LLM_METRICS, SIGNAL_METRICS } from './index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

test('the catalogue: unique names, our prefixes, counters end in _total, buckets ascend', () => {
  const names = CATALOGUE.map((m) => m.name);
  assert.equal(new Set(names).size, names.length, 'no name declared twice');
  for (const m of CATALOGUE) {
    assert.match(m.name, /^(axom|gen_ai_client)_[a-z0-9_]+$/, m.name);
    if (m.type === 'counter') assert.match(m.name, /_total$/, m.name);
    assert.ok(m.help.length > 0, `${m.name} has help`);
    if (m.type === 'histogram') {
      const b = m.buckets ?? [];
      assert.ok(b.length > 0 && b.every((x, i) => i === 0 || x > (b[i - 1] as number)), `${m.name} buckets`);
    } else assert.equal(m.buckets, undefined, `${m.name} has no buckets`);
  }
});

test('docs/metrics.md documents exactly the sidecar metrics the catalogue declares', () => {
  const docs = readFileSync(`${ROOT}docs/metrics.md`, 'utf8');
  const sidecar = docs.slice(0, docs.indexOf('## Operator'));
  const documented = new Set(
    [...sidecar.matchAll(/`((?:axom|gen_ai_client)_[a-z0-9_]+)(?:\{[^`]*\})?`/g)].map((m) => m[1] as string),
  );
  documented.delete('axom_rule_');
  const declared = new Set(CATALOGUE.map((m) => m.name));
  assert.deepEqual(
    [...declared].filter((n) => !documented.has(n)),
    [],
    'declared but not documented',
  );
  assert.deepEqual(
    [...documented].filter((n) => !declared.has(n)),
    [],
    'documented but not declared',
  );
});

test('one instrument per declaration and registry; another declaration of a taken name fails', () => {
  const registry = new Registry();
  const a = counter(registry, LLM_METRICS.tokens);
  assert.equal(counter(registry, LLM_METRICS.tokens), a);
  assert.notEqual(counter(new Registry(), LLM_METRICS.tokens), a);
  histogram(registry, SIGNAL_METRICS.duration);
  assert.throws(() => counter(registry, { ...SIGNAL_METRICS.requests, name: 'axom_llm_tokens_total' }));
});

test('no sidecar module declares a metric of its own: prom-client instruments come from the catalogue', () => {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'sidecar'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'sidecar/metrics/instruments.ts');
  const declaring = files.filter((f) =>
    /new (Counter|Gauge|Histogram|Summary)\b|\bname: [`'"](axom|gen_ai)_/.test(
      readFileSync(`${ROOT}${f}`, 'utf8'),
    ),
  );
  assert.deepEqual(declaring, [], 'declare these in sidecar/metrics/catalogue.ts');
});

test('a running sidecar exports exactly the catalogue, besides the metrics its rules define', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'axom-catalogue-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rulesPath = join(dir, 'rules.yaml');
  await writeFile(
    rulesPath,
    'version: 1\nrules:\n  - name: all\n    match: {}\n    extract:\n      - { metric: seen_total, type: counter }\n',
  );
  const stdout = new PassThrough().resume();
  // Live (no interface) with NDJSON output: every optional family is registered.
  const sidecar = await runSidecar({ rulesPath, interfaces: [], output: 'ndjson', stdout, metricsPort: -1 });
  t.after(() => sidecar.stop());
  const text = await sidecar.metrics.registry.metrics();
  const exported = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`));
  const declared = new Set([...CATALOGUE.map((m) => `${m.name} ${m.type}`), 'axom_rule_seen_total counter']);
  assert.deepEqual(
    [...exported].filter((m) => !declared.has(m)),
    [],
    'exported but not declared',
  );
  assert.deepEqual(
    [...declared].filter((m) => !exported.has(m)),
    [],
    'declared but not exported',
  );
});
