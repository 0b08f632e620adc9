import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseRulesFile } from '../../lib/policy/index.ts';
import type { ConnectionInfo, Transaction } from '../protocols/types.ts';
import { createRedactor, REDACTED } from '../redact/index.ts';
import { buildTransactionSignal } from '../signal/index.ts';
import type { TransactionSignal } from '../signal/types.ts';
import { validateSignal } from '../signal/validate.ts';
import { createSidecarMetrics } from '../sinks/prometheus/index.ts';
import { compileRules, defaultOutcome } from './index.ts';

const conn: ConnectionInfo = {
  id: 'c1',
  client: { ip: '10.0.0.5', port: 43122 },
  server: { ip: '104.18.0.1', port: 443 },
  direction: 'outbound',
  midstream: false,
};

interface TxOptions {
  method?: string;
  path?: string;
  host?: string;
  status?: number;
  requestBody?: unknown;
  responseBody?: unknown;
  responseHeaders?: Record<string, string>;
  events?: string[];
  latencyMs?: number;
}

function tx(o: TxOptions = {}): Transaction {
  const body = (v: unknown) =>
    v === undefined ? undefined : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
  return {
    protocol: 'http',
    startMs: 1_700_000_000_000,
    endMs: 1_700_000_000_000 + (o.latencyMs ?? 120),
    requestBytes: 300,
    responseBytes: 900,
    complete: true,
    status: o.status ?? 200,
    http: {
      method: o.method ?? 'POST',
      path: o.path ?? '/v1/chat/completions',
      host: o.host ?? 'api.openai.com',
      statusCode: o.status ?? 200,
      responseHeaders: o.responseHeaders ?? {},
    },
    request: { headers: { 'content-type': 'application/json' }, body: body(o.requestBody) },
    response: {
      headers: o.responseHeaders ?? {},
      body: body(o.responseBody),
      events: o.events?.map((data, i) => ({ data, atMs: i })),
    },
  };
}

const RULES = `
version: 1
rules:
  - name: openai_usage
    match:
      protocols: [http]
      methods: [post]
      host: 'openai\\.com$'
      path: '^/v1/chat/'
    extract:
      - metric: tokens_total
        type: counter
        jsonPath: $.usage.total_tokens
        labels: { model: http.host, outcome: outcome }
      - metric: prompt_tokens
        type: histogram
        jsonPath: $.usage.prompt_tokens
        buckets: [10, 100, 1000]
      - metric: remaining_requests
        type: gauge
        source: responseHeaders
        header: x-ratelimit-remaining-requests
      - metric: chat_calls
    outcome:
      failure:
        bodyRegex: '"error"\\s*:'
    alerts:
      - name: slow_call
        severity: critical
        condition: signal.latencyMs > 2000.0
        message: chat call slower than 2s
      - name: many_tokens
        condition: signal.metrics.tokens_total > 1000.0
  - name: server_errors
    match:
      status: [5xx]
    extract:
      - metric: retry_after_seconds
        type: gauge
        source: responseBody
        regex: 'retry in (\\d+)s'
`;

function run(engine: ReturnType<typeof compileRules>, t: Transaction): TransactionSignal {
  const s = buildTransactionSignal(t, conn, { pod: { name: 'agent-0', namespace: 'ai' }, policy: 'p' });
  engine.apply(t, s);
  const check = validateSignal(JSON.parse(JSON.stringify(s)));
  assert.ok(check.valid, check.errors.join('\n'));
  return s;
}

test('match, extract from JSON body and headers, default outcome, Prometheus and signal.metrics', async () => {
  const metrics = createSidecarMetrics();
  const engine = compileRules(parseRulesFile(RULES), metrics.ruleSink);
  assert.equal(engine.ruleCount, 2);
  const s = run(
    engine,
    tx({
      responseBody: { id: 'x', usage: { total_tokens: 42, prompt_tokens: 30 } },
      responseHeaders: { 'X-RateLimit-Remaining-Requests': '4999' },
    }),
  );
  assert.deepEqual(s.metrics, {
    tokens_total: 42,
    prompt_tokens: 30,
    remaining_requests: 4999,
    chat_calls: 1,
  });
  assert.equal(s.outcome, 'success');
  assert.equal(s.alerts, undefined);
  const text = await metrics.registry.metrics();
  assert.match(text, /axom_rule_tokens_total\{model="api.openai.com",outcome="success"\} 42/);
  assert.match(text, /axom_rule_prompt_tokens_bucket\{le="100"\} 1/);
  assert.match(text, /axom_rule_prompt_tokens_bucket\{le="10"\} 0/);
  assert.match(text, /axom_rule_remaining_requests 4999/);
  assert.match(text, /axom_rule_chat_calls 1/);
});

test('rules that do not match leave the signal alone', () => {
  const engine = compileRules(parseRulesFile(RULES));
  for (const t of [
    tx({ method: 'GET' }),
    tx({ host: 'api.anthropic.com' }),
    tx({ path: '/v1/embeddings' }),
  ]) {
    const s = run(engine, t);
    assert.equal(s.metrics, undefined);
    assert.equal(s.outcome, 'success');
  }
});

test('outcome from a body regex; alerts with CEL over the signal and its metrics', async () => {
  const metrics = createSidecarMetrics();
  const engine = compileRules(parseRulesFile(RULES), metrics.ruleSink);
  const s = run(
    engine,
    tx({ latencyMs: 2500, responseBody: { error: { message: 'nope' }, usage: { total_tokens: 5000 } } }),
  );
  assert.equal(s.outcome, 'failure');
  assert.deepEqual(s.alerts, [
    { rule: 'slow_call', severity: 'critical', message: 'chat call slower than 2s' },
    {
      rule: 'many_tokens',
      severity: 'warning',
      message: 'many_tokens: signal.metrics.tokens_total > 1000.0',
    },
  ]);
  const text = await metrics.registry.metrics();
  assert.match(text, /axom_alerts_total\{rule="openai_usage",alert="slow_call",severity="critical"\} 1/);
  assert.match(text, /axom_rule_tokens_total\{model="api.openai.com",outcome="failure"\} 5000/);
});

test('status classes, regex extraction from the body, and the default outcome per protocol', () => {
  const engine = compileRules(parseRulesFile(RULES));
  const s = run(engine, tx({ status: 503, path: '/health', responseBody: 'overloaded, retry in 30s' }));
  assert.deepEqual(s.metrics, { retry_after_seconds: 30 });
  assert.equal(s.outcome, 'failure');
  const base = { ...s, metrics: undefined, outcome: undefined };
  assert.equal(defaultOutcome({ ...base, status: 302 }), 'success');
  assert.equal(defaultOutcome({ ...base, status: 404 }), 'failure');
  assert.equal(defaultOutcome({ ...base, protocol: 'grpc', status: 0, grpc: { statusCode: 0 } }), 'success');
  assert.equal(
    defaultOutcome({ ...base, protocol: 'grpc', status: 14, grpc: { statusCode: 14 } }),
    'failure',
  );
  assert.equal(defaultOutcome({ ...base, protocol: 'postgres', status: 'ok', http: undefined }), 'success');
  assert.equal(
    defaultOutcome({ ...base, protocol: 'postgres', status: '23505', http: undefined }),
    'failure',
  );
  assert.equal(defaultOutcome({ ...base, status: undefined }), 'unknown');
});

test('streamed (SSE) bodies: the last event carrying the JSONPath wins', () => {
  const engine = compileRules(parseRulesFile(RULES));
  const s = run(
    engine,
    tx({
      events: [
        '{"choices":[{"delta":{"content":"hi"}}]}',
        '{"choices":[],"usage":{"total_tokens":17,"prompt_tokens":9}}',
        '[DONE]',
      ],
    }),
  );
  assert.equal(s.metrics?.tokens_total, 17);
  assert.equal(s.metrics?.prompt_tokens, 9);
});

test('truncated or non-JSON bodies yield no value and no error', () => {
  const engine = compileRules(parseRulesFile(RULES));
  const s = run(engine, tx({ responseBody: '{"usage":{"total_tokens":4' }));
  assert.deepEqual(s.metrics, { chat_calls: 1 });
});

test('a reload keeps unchanged metrics counting and removes the ones no rule defines', async () => {
  const metrics = createSidecarMetrics();
  const first = compileRules(parseRulesFile(RULES), metrics.ruleSink);
  run(first, tx({ responseBody: { usage: { total_tokens: 10 } } }));
  const second = compileRules(
    parseRulesFile(RULES.replace(/ {2}- name: server_errors[\s\S]*$/, '')),
    metrics.ruleSink,
  );
  run(second, tx({ responseBody: { usage: { total_tokens: 5 } } }));
  const text = await metrics.registry.metrics();
  assert.match(text, /axom_rule_tokens_total\{model="api.openai.com",outcome="success"\} 15/);
  assert.doesNotMatch(text, /axom_rule_retry_after_seconds/);
});

test('rules compile once: apply never builds a RegExp', () => {
  const engine = compileRules(parseRulesFile(RULES));
  const original = globalThis.RegExp;
  let constructed = 0;
  globalThis.RegExp = new Proxy(original, {
    construct(target, args) {
      constructed++;
      return Reflect.construct(target, args);
    },
  });
  try {
    engine.apply(tx({ responseBody: { usage: { total_tokens: 1 } } }), buildTransactionSignal(tx(), conn));
  } finally {
    globalThis.RegExp = original;
  }
  assert.equal(constructed, 0);
});

test('property: random bodies, headers and statuses never make apply throw, and signals stay valid', () => {
  const engine = compileRules(parseRulesFile(RULES));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
        fc.json().map((j) => Buffer.from(j)),
      ),
      fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), { maxKeys: 5 }),
      fc.integer({ min: 100, max: 599 }),
      fc.array(fc.string({ maxLength: 60 }), { maxLength: 4 }),
      (body, headers, status, events) => {
        const t = tx({ status });
        t.response = { headers, body, events: events.map((data, i) => ({ data, atMs: i })) };
        if (t.http) t.http.responseHeaders = headers;
        run(engine, t);
      },
    ),
    { numRuns: 300 },
  );
});

test("an enricher's outcome survives the status-based default; a rule's explicit outcome still decides", () => {
  const file = parseRulesFile(
    `version: 1
rules:
  - name: decides
    match: { path: '^/decided' }
    outcome:
      success:
        status: [2xx]
`,
    'rules.yaml',
  );
  const engine = compileRules(file);
  const enriched = (t: Transaction, outcome: TransactionSignal['outcome']): TransactionSignal => {
    const s = buildTransactionSignal(t, conn);
    // What llmEnricher does for an error inside a 200 SSE stream.
    s.outcome = outcome;
    engine.apply(t, s);
    return s;
  };
  // No rule decides: the 200 would default to success, the enricher's failure stands.
  assert.equal(enriched(tx({ status: 200 }), 'failure').outcome, 'failure');
  // Nothing set by an enricher: the default applies as before.
  assert.equal(enriched(tx({ status: 200 }), undefined).outcome, 'success');
  assert.equal(enriched(tx({ status: 503 }), undefined).outcome, 'failure');
  // A rule with an explicit outcome section that holds overrides the enricher.
  assert.equal(enriched(tx({ status: 200, path: '/decided' }), 'failure').outcome, 'success');
});

test('rule metric labels taken from signal fields are redacted before they reach Prometheus', async () => {
  const KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';
  const rules = parseRulesFile(
    `
version: 1
rules:
  - name: by_path
    match: { protocols: [http] }
    extract:
      - metric: calls_total
        type: counter
        labels: { path: http.path, operation: operation, host: destination.host }
`,
    'test',
  );
  const metrics = createSidecarMetrics();
  const engine = compileRules(rules, metrics.ruleSink, createRedactor(rules.redaction).text);
  const t = tx({ path: `/v1/models?api_key=${KEY}` });
  const signal = buildTransactionSignal(t, conn, {});
  engine.apply(t, signal);
  const text = await metrics.registry.metrics();
  assert.ok(text.includes('axom_rule_calls_total'), text);
  assert.ok(!text.includes(KEY), text);
  assert.ok(text.includes(`path="/v1/models?api_key=${REDACTED}"`), text);
  assert.ok(text.includes(`operation="POST /v1/models?api_key=${REDACTED}"`), text);
  // The signal itself is untouched here: redaction of the signal happens later, in one place.
  assert.equal(signal.http?.path, `/v1/models?api_key=${KEY}`);
});

test('a catastrophic policy regex over an untrusted body cannot hang the sidecar (ReDoS)', (t) => {
  // Run in a child: a regex that backtracks exponentially blocks the event loop, so only a
  // process that can be killed turns "hangs" into a failure instead of a stuck test run.
  const dir = mkdtempSync(join(tmpdir(), 'axom-redos-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'redos.ts');
  const engineUrl = new URL('./index.ts', import.meta.url).href;
  const policyUrl = new URL('../../lib/policy/index.ts', import.meta.url).href;
  const redactUrl = new URL('../redact/index.ts', import.meta.url).href;
  writeFileSync(
    script,
    `
import { compileRules } from ${JSON.stringify(engineUrl)};
import { parseRulesFile } from ${JSON.stringify(policyUrl)};
import { createRedactor } from ${JSON.stringify(redactUrl)};
const rules = parseRulesFile(\`
version: 1
redaction:
  patterns: [{ name: evil, regex: '(x+x+)+y' }]
rules:
  - name: evil
    match: { protocols: [http] }
    outcome: { failure: { bodyRegex: '(a+)+$' } }
    extract:
      - { metric: evil_total, type: counter, source: responseBody, regex: '(\\\\d|\\\\d\\\\d)+x' }
\`, 'test');
const body = Buffer.from('a'.repeat(40) + '!');
const tx = { protocol: 'http', startMs: 0, endMs: 1, requestBytes: 0, responseBytes: body.length, complete: true,
  status: 200, request: { headers: {} }, response: { headers: {}, body } };
const signal = { protocol: 'http', status: 200 };
compileRules(rules).apply(tx, signal);
const digits = Buffer.from('1'.repeat(40) + '!');
compileRules(rules).apply({ ...tx, response: { headers: {}, body: digits } }, signal);
createRedactor(rules.redaction).text('x'.repeat(40));
console.log('finished', signal.outcome);
`,
  );
  const r = spawnSync(process.execPath, [script], { timeout: 30_000, encoding: 'utf8' });
  assert.equal(r.signal, null, 'the regexes ran into catastrophic backtracking and the child was killed');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /finished success/);
});
