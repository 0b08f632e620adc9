/**
 * The per-transaction cost of the signal path after parsing: build the signal, apply a
 * realistic rules file (JSON body extraction, header and regex extraction, outcome, CEL
 * alerts, Prometheus updates), redact, serialize. Printed as transactions per second and
 * as ratios against JSON.parse of the same response body (the least any body rule costs).
 *
 *   node bench/rules.ts [--time 1000]
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { parseRulesFile } from '../lib/policy/index.ts';
import type { ConnectionInfo, Transaction } from '../sidecar/protocols/types.ts';
import { createRedactor } from '../sidecar/redact/index.ts';
import { compileRules } from '../sidecar/rules/index.ts';
import { buildTransactionSignal } from '../sidecar/signal/index.ts';
import { createSidecarMetrics } from '../sidecar/sinks/prometheus/index.ts';

const { values } = parseArgs({ options: { time: { type: 'string', default: '1000' } } });

const RULES = parseRulesFile(`version: 1
redaction: { headers: [x-tenant-secret], jsonFields: [ssn] }
rules:
  - name: openai
    match: { protocols: [http], methods: [POST], host: 'openai\\.com$', path: '^/v1/chat/' }
    extract:
      - { metric: tokens_total, type: counter, jsonPath: $.usage.total_tokens, labels: { model: llm.model, host: destination.host } }
      - { metric: prompt_tokens, type: histogram, jsonPath: $.usage.prompt_tokens, buckets: [10, 100, 1000, 10000] }
      - { metric: remaining, type: gauge, source: responseHeaders, header: x-ratelimit-remaining-requests }
    outcome: { failure: { bodyRegex: '"error"\\s*:' } }
    alerts:
      - { name: slow, condition: signal.latencyMs > 2000.0 }
      - { name: big, severity: info, condition: 'has(signal.metrics) && signal.metrics.tokens_total > 5000.0' }
  - name: anthropic
    match: { host: 'anthropic\\.com$' }
    extract: [{ metric: anthropic_calls }]
  - name: errors
    match: { status: [5xx, '429'] }
    extract: [{ metric: retry_after, type: gauge, regex: 'retry after (\\d+)' }]
`);

const conn: ConnectionInfo = {
  id: 'c',
  client: { ip: '10.0.0.5', port: 43122 },
  server: { ip: '104.18.0.1', port: 443 },
  direction: 'outbound',
  midstream: false,
};
const responseBody = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-123',
    object: 'chat.completion',
    model: 'gpt-4o-mini',
    choices: [
      { index: 0, message: { role: 'assistant', content: 'Hello! '.repeat(40) }, finish_reason: 'stop' },
    ],
    usage: { prompt_tokens: 42, completion_tokens: 280, total_tokens: 322 },
  }),
);
function tx(): Transaction {
  return {
    protocol: 'http',
    startMs: 1_700_000_000_000,
    endMs: 1_700_000_000_420,
    requestBytes: 512,
    responseBytes: responseBody.length,
    complete: true,
    status: 200,
    http: {
      method: 'POST',
      path: '/v1/chat/completions',
      host: 'api.openai.com',
      statusCode: 200,
      requestHeaders: {
        authorization: 'Bearer sk-proj-abcdefghijklmnopqrstuvwxyz012345',
        'content-type': 'application/json',
      },
      responseHeaders: { 'content-type': 'application/json', 'x-ratelimit-remaining-requests': '4999' },
    },
    response: { headers: { 'x-ratelimit-remaining-requests': '4999' }, body: responseBody },
  };
}

const metrics = createSidecarMetrics();
const engine = compileRules(RULES, metrics.ruleSink);
const redactor = createRedactor(RULES.redaction);
const t = tx();
let sink = 0;

const bench = new Bench({ time: Number(values.time), warmup: true });
bench
  .add('peer: JSON.parse(response body)', () => {
    sink += (JSON.parse(responseBody.toString('utf8')) as { usage: { total_tokens: number } }).usage
      .total_tokens;
  })
  .add('build signal', () => {
    sink += buildTransactionSignal(t, conn).requestBytes;
  })
  .add('build + rules', () => {
    const s = buildTransactionSignal(t, conn);
    engine.apply(t, s);
    sink += s.metrics?.tokens_total ?? 0;
  })
  .add('build + rules + redact + JSON.stringify (full path)', () => {
    const s = buildTransactionSignal(t, conn);
    engine.apply(t, s);
    metrics.observeTransaction(s);
    sink += JSON.stringify(redactor.signal(s)).length;
  });
await bench.run();

const peer = bench.tasks[0]?.result;
const peerHz = peer !== undefined && 'throughput' in peer ? peer.throughput.mean : 0;
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
for (const task of bench.tasks) {
  const r = task.result;
  if (r === undefined || !('throughput' in r)) continue;
  const hz = r.throughput.mean;
  console.log(
    `${task.name.padEnd(52)} ${Math.round(hz).toLocaleString().padStart(10)} tx/s  ${(1e6 / hz).toFixed(2).padStart(8)} µs/tx  ` +
      `x${(peerHz / hz).toFixed(2)} the JSON.parse peer`,
  );
}
if (sink === -1) console.log(sink);
