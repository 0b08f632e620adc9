import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { bytes, TcpFlow, writePcap } from '../test/harness/pcap.ts';
import { runSidecar, type Sidecar, type SidecarOptions } from './index.ts';
import * as wire from './llm/testdata/wire.ts';
import { pg } from './protocols/postgres/fixtures.ts';
import { truncateUtf8, validateSignal } from './signal/index.ts';
import { LLM_CONTENT_MAX_BYTES, type Signal, type TransactionSignal } from './signal/types.ts';
import * as rfc from './tls/testdata/rfc8448.ts';

const KEY = 'sk-ant-api03-runtestSECRET0123456789abcdefghij';

function exchange(flow: TcpFlow, n: number): void {
  const body = JSON.stringify({ model: 'claude-x', usage: { input_tokens: 10 * n, output_tokens: n } });
  flow
    .send(
      'client',
      `POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nx-api-key: ${KEY}\r\nContent-Length: 2\r\n\r\n{}`,
    )
    .advance(40)
    .send(
      'server',
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    )
    .advance(5);
}

async function fixture(t: {
  after: (fn: () => Promise<void>) => void;
}): Promise<{ dir: string; pcap: string; rules: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'axom-run-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const flow = new TcpFlow({ client: ['10.1.0.5', 40000], server: ['10.9.0.1', 443] }).handshake();
  for (let n = 1; n <= 3; n++) exchange(flow, n);
  flow.fin('client').fin('server');
  const pcap = join(dir, 'flow.pcap');
  writePcap(pcap, flow.linkType, flow.packets);
  const rules = join(dir, 'rules.yaml');
  await writeFile(
    rules,
    `version: 1
policy: { name: run-test, namespace: ns }
rules:
  - name: anthropic
    match: { host: 'anthropic\\.com$' }
    extract:
      - { metric: input_tokens, jsonPath: $.usage.input_tokens, labels: { model: llm.model } }
    alerts:
      - { name: enriched, severity: info, condition: 'has(signal.llm) && signal.llm.provider == "anthropic"' }
`,
  );
  return { dir, pcap, rules };
}

function lines(stream: PassThrough): Signal[] {
  const out: Signal[] = [];
  let partial = '';
  stream.on('data', (c: Buffer) => {
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) out.push(JSON.parse(p) as Signal);
  });
  return out;
}

test('runSidecar replays a capture: enrichers run before rules, then redaction, NDJSON and metrics', async (t) => {
  const { pcap, rules } = await fixture(t);
  const stdout = new PassThrough();
  const signals = lines(stdout);
  const order: string[] = [];
  const sidecar = await runSidecar({
    pcapFile: pcap,
    rulesPath: rules,
    output: 'ndjson',
    stdout,
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    podIps: ['10.1.0.5'],
    pod: { name: 'agent', namespace: 'ns' },
    enricherFactories: [
      (ctx) => {
        assert.equal(ctx.rules().policy?.name, 'run-test');
        return (_tx, conn, signal) => {
          order.push(`enrich ${conn.id}`);
          // What the LLM extractor does: add usage that rules and labels can read.
          signal.llm = { provider: 'anthropic', model: 'claude-x' };
        };
      },
    ],
    enrichers: [
      () => {
        throw new Error('a broken enricher costs nothing but a count');
      },
    ],
  });
  await sidecar.done;
  await new Promise((r) => setImmediate(r));

  const txs = signals.filter((s): s is TransactionSignal => s.kind === 'transaction');
  assert.equal(txs.length, 3);
  assert.equal(order.length, 3);
  for (const s of signals) assert.ok(validateSignal(s).valid, JSON.stringify(validateSignal(s).errors));
  assert.deepEqual(
    txs.map((s) => s.metrics?.input_tokens),
    [10, 20, 30],
  );
  for (const s of txs) {
    assert.equal(s.direction, 'outbound');
    assert.equal(s.destination.host, 'api.anthropic.com');
    assert.equal(s.latencyMs, 40);
    assert.equal(s.policy, 'run-test');
    assert.deepEqual(s.pod, { name: 'agent', namespace: 'ns' });
    assert.equal(s.http?.requestHeaders?.['x-api-key'], '[REDACTED]');
    assert.deepEqual(s.alerts, [
      {
        rule: 'enriched',
        severity: 'info',
        message: 'enriched: has(signal.llm) && signal.llm.provider == "anthropic"',
      },
    ]);
  }
  assert.ok(!JSON.stringify(signals).includes(KEY));
  const text = await sidecar.metrics.registry.metrics();
  assert.match(text, /axom_rule_input_tokens\{model="claude-x"\} 60/);
  assert.match(text, /axom_enricher_errors_total 3/);
  assert.match(text, /axom_signals_total\{kind="transaction"\} 3/);
  assert.match(text, /axom_output_lines_total 3/);
});

test('runSidecar refuses a bad rules file before doing anything else', async (t) => {
  const { dir, pcap } = await fixture(t);
  const bad = join(dir, 'bad.yaml');
  await writeFile(
    bad,
    'version: 1\nrules:\n  - name: r\n    alerts:\n      - { name: a, condition: "signal.nope > 1" }\n',
  );
  await assert.rejects(
    runSidecar({ pcapFile: pcap, rulesPath: bad, metricsPort: -1 }),
    /rules\[0\]\.alerts\[0\]\.condition/,
  );
});

// --- wiring: TLS, built-in LLM/MCP metering, WebSocket messages, shutdown ----------------------

type After = { after: (fn: () => Promise<void> | void) => void };

async function tempDir(t: After): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'axom-run-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Replays `flows` with `rules` through runSidecar (built-in enrichers on); the signals it printed. */
async function replay(
  t: After,
  flows: TcpFlow[],
  rules: string,
  extra: Partial<SidecarOptions> = {},
): Promise<{ signals: TransactionSignal[]; sidecar: Sidecar; dir: string; metrics: string }> {
  const dir = await tempDir(t);
  const pcap = join(dir, 'flows.pcap');
  writePcap(
    pcap,
    flows[0]!.linkType,
    flows.flatMap((f) => f.packets).sort((a, b) => a.tsMs - b.tsMs),
  );
  const rulesPath = join(dir, 'rules.yaml');
  await writeFile(rulesPath, rules.replaceAll('$DIR', dir));
  const stdout = new PassThrough();
  const all = lines(stdout);
  const sidecar = await runSidecar({
    pcapFile: pcap,
    rulesPath,
    output: 'ndjson',
    stdout,
    metricsPort: -1,
    podIps: ['10.1.0.5'],
    ...extra,
  });
  await sidecar.done;
  await new Promise((r) => setImmediate(r));
  for (const s of all) assert.ok(validateSignal(s).valid, JSON.stringify(validateSignal(s).errors));
  const metrics = await sidecar.metrics.registry.metrics();
  return {
    signals: all.filter((s): s is TransactionSignal => s.kind === 'transaction'),
    sidecar,
    dir,
    metrics,
  };
}

/** The RFC 8448 TLS 1.3 connection (SNI `server`) as a TCP flow. */
function rfc8448Flow(port = 40001): TcpFlow {
  const R = rfc.RECORDS;
  const flow = new TcpFlow({ client: ['10.1.0.5', port], server: ['10.9.0.1', 443] }).handshake();
  flow
    .send('client', R.clientHello)
    .advance(5)
    .send('server', Buffer.concat([R.serverHello, R.serverFlight]))
    .send('client', R.clientFinished)
    .send('server', R.serverTicket)
    .send('client', R.clientAppData)
    .advance(5)
    .send('server', R.serverAppData)
    .send('server', R.serverAlert)
    .send('client', R.clientAlert);
  return flow.close();
}

function httpFlow(request: string | Buffer, response: string | Buffer, port = 40100): TcpFlow {
  const flow = new TcpFlow({ client: ['10.1.0.5', port], server: ['10.9.0.1', 80] }).handshake();
  return flow.send('client', request).advance(30).send('server', response).advance(2).close();
}

function post(host: string, path: string, body: string, headers = ''): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n${headers}Content-Length: ${b.length}\r\n\r\n`,
    ),
    b,
  ]);
}

function ok(body: string, contentType = 'application/json'): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nContent-Length: ${b.length}\r\n\r\n`),
    b,
  ]);
}

test('TLS without a key log: one tls signal per connection (SNI, version, bytes, duration)', async (t) => {
  const { signals, metrics } = await replay(t, [rfc8448Flow()], 'version: 1\n');
  assert.equal(signals.length, 1);
  const s = signals[0]!;
  assert.equal(s.protocol, 'tls');
  assert.deepEqual(s.tls, { sni: 'server', version: '1.3', decrypted: false });
  assert.equal(s.operation, 'server');
  assert.equal(s.destination.host, 'server');
  assert.ok(s.requestBytes > 0 && s.responseBytes > 0);
  assert.ok((s.latencyMs ?? 0) > 0);
  assert.match(metrics, /axom_tls_connections_total\{outcome="no-key-log"\} 1/);
});

test('TLS with rules.capture.tlsKeyLog: the connection is decrypted with the key log', async (t) => {
  const rules = 'version: 1\ncapture:\n  tlsKeyLog: { path: $DIR/keylog, waitMs: 60000 }\n';
  const dir = await tempDir(t);
  const keylog = join(dir, 'keylog');
  await writeFile(keylog, `${rfc.keyLogLines().join('\n')}\n`);
  const { signals, metrics } = await replay(t, [rfc8448Flow()], rules.replace('$DIR', dir));
  // RFC 8448's application data is not HTTP: the connection is summarized, decrypted.
  assert.equal(signals.length, 1);
  assert.deepEqual(signals[0]!.tls, { sni: 'server', version: '1.3', decrypted: true });
  assert.match(metrics, /axom_tls_connections_total\{outcome="decrypted"\} 1/);
  assert.match(
    metrics,
    new RegExp(`axom_tls_keylog_lines_total\\{result="ok"\\} ${rfc.keyLogLines().length}\n`),
  );
});

test('keys written after the connection ended still decrypt it; shutdown answers those still waiting', async (t) => {
  const dir = await tempDir(t);
  const keylog = join(dir, 'keylog');
  await writeFile(keylog, '');
  const rulesPath = join(dir, 'rules.yaml');
  // A wait far longer than the test: only the late keys or shutdown can end it.
  await writeFile(rulesPath, `version: 1\ncapture:\n  tlsKeyLog: { path: ${keylog}, waitMs: 60000 }\n`);
  const stdout = new PassThrough();
  const all = lines(stdout);
  // No interface: packets are handed to the pipeline directly, as live capture would.
  const sidecar = await runSidecar({
    rulesPath,
    interfaces: [],
    output: 'ndjson',
    stdout,
    metricsPort: -1,
    podIps: ['10.1.0.5'],
  });
  t.after(() => sidecar.stop());
  const late = rfc8448Flow(40001);
  for (const p of late.packets) sidecar.pipeline.handlePacket(late.linkType, p.frame, p.tsMs);
  await new Promise((r) => setImmediate(r));
  assert.equal(all.length, 0, 'the closed connection waits for its keys');

  // The app writes its keys now; the tailer picks them up and the connection finishes.
  await appendFile(keylog, `${rfc.keyLogLines().join('\n')}\n`);
  const deadline = Date.now() + 10_000;
  while (all.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(all.length, 1);
  assert.deepEqual((all[0] as TransactionSignal).tls, { sni: 'server', version: '1.3', decrypted: true });

  // A second connection whose keys never come: stop() emits its summary before closing outputs.
  const never = new TcpFlow({ client: ['10.1.0.5', 40002], server: ['10.9.0.1', 443] }).handshake();
  const other = rfc8448Flow(40002);
  for (const p of other.packets) sidecar.pipeline.handlePacket(never.linkType, p.frame, p.tsMs + 1000);
  await new Promise((r) => setImmediate(r));
  // The store wiped the first connection's secrets when it ended, so these are missing now.
  assert.equal(all.length, 1);
  await sidecar.stop();
  await new Promise((r) => setImmediate(r));
  assert.equal(all.length, 2);
  assert.deepEqual((all[1] as TransactionSignal).tls, { sni: 'server', version: '1.3', decrypted: false });
  const metrics = await sidecar.metrics.registry.metrics();
  assert.match(metrics, /axom_tls_connections_total\{outcome="decrypted"\} 1/);
  assert.match(metrics, /axom_tls_connections_total\{outcome="keys-missing"\} 1/);
});

test('LLM and MCP metering are on by default: usage, tool names, metrics, MCP method and tool', async (t) => {
  const chat = httpFlow(
    post(
      'api.openai.com',
      '/v1/chat/completions',
      JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Weather?' }] }),
      'Authorization: Bearer sk-proj-runtestSECRET0123456789abcdef\r\n',
    ),
    ok(JSON.stringify(wire.openaiChat.body)),
    40100,
  );
  const mcp = httpFlow(
    post(
      'tools.internal',
      '/mcp',
      JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'search_docs' } }),
      'Mcp-Session-Id: sess-42\r\n',
    ),
    ok(JSON.stringify({ jsonrpc: '2.0', id: 7, error: { code: -32602, message: 'bad args' } })),
    40101,
  );
  const { signals, metrics } = await replay(t, [chat, mcp], 'version: 1\n');
  assert.equal(signals.length, 2);
  const llm = signals.find((s) => s.llm !== undefined)!;
  assert.equal(llm.llm?.provider, 'openai');
  assert.equal(llm.llm?.inputTokens, 1200);
  assert.equal(llm.llm?.outputTokens, 42);
  assert.equal(llm.llm?.cachedInputTokens, 1024);
  assert.deepEqual(llm.llm?.toolCalls, ['get_weather']);
  assert.equal(llm.llm?.content, undefined, 'content is opt-in');
  assert.equal(llm.outcome, 'success');
  const m = signals.find((s) => s.mcp !== undefined)!;
  assert.deepEqual(m.mcp, { method: 'tools/call', tool: 'search_docs', sessionId: 'sess-42' });
  // A JSON-RPC error in a 200: the enricher's failure survives the status-based default.
  assert.equal(m.status, 200);
  assert.equal(m.outcome, 'failure');
  assert.match(metrics, /axom_llm_tokens_total\{provider="openai",model="gpt-4o",type="input"\} 1200/);
  assert.match(metrics, /gen_ai_client_token_usage_sum\{[^}]*gen_ai_token_type="output"\} 42/);
  assert.match(metrics, /axom_mcp_tool_calls_total\{tool="search_docs",result="error"\} 1/);
  assert.ok(!JSON.stringify(signals).includes('runtestSECRET'));
});

test('an error inside a 200 stream fails the call; a rule with an outcome still decides', async (t) => {
  const stream = wire.sse([
    {
      data: {
        id: 'c',
        object: 'chat.completion.chunk',
        model: 'gpt-4o',
        choices: [{ index: 0, delta: { content: 'Hel' } }],
      },
    },
    { data: { error: { message: 'The server had an error', type: 'server_error' } } },
  ]);
  const flow = () =>
    httpFlow(
      post(
        'api.openai.com',
        '/v1/chat/completions',
        JSON.stringify({ model: 'gpt-4o', stream: true, messages: [] }),
      ),
      ok(stream, 'text/event-stream'),
    );
  const plain = await replay(t, [flow()], 'version: 1\n');
  assert.equal(plain.signals[0]?.status, 200);
  assert.equal(plain.signals[0]?.metrics?.llm_error, 1);
  assert.equal(plain.signals[0]?.outcome, 'failure');
  const decided = await replay(
    t,
    [flow()],
    "version: 1\nrules:\n  - name: lenient\n    match: { host: 'openai' }\n    outcome:\n      success: { status: [2xx] }\n",
  );
  assert.equal(decided.signals[0]?.outcome, 'success');
});

test('llm.captureContent: prompt and completion in the signal, redacted and bounded; off without it', async (t) => {
  const big = `${'é'.repeat(LLM_CONTENT_MAX_BYTES)}tail`;
  const request = JSON.stringify({
    model: 'claude-x',
    max_tokens: 10,
    messages: [{ role: 'user', content: 'my key is sk-ant-api03-contentSECRET0123456789abc, say hi' }],
  });
  const answer = JSON.stringify({
    ...wire.anthropicMessage.body,
    content: [{ type: 'text', text: 'Hi! Bearer abcdefghijkl' }],
  });
  const flows = () => [
    httpFlow(
      post('api.anthropic.com', '/v1/messages', request, 'anthropic-version: 2023-06-01\r\n'),
      ok(answer),
      40200,
    ),
    httpFlow(
      post(
        'api.openai.com',
        '/v1/chat/completions',
        JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: big }] }),
      ),
      ok(JSON.stringify(wire.openaiChat.body)),
      40201,
    ),
  ];
  const on = await replay(t, flows(), 'version: 1\nllm:\n  captureContent: true\n');
  const anthropic = on.signals.find((s) => s.llm?.provider === 'anthropic')!;
  assert.ok(anthropic.llm?.content?.prompt?.includes('say hi'));
  assert.ok(anthropic.llm?.content?.prompt?.includes('[REDACTED]'));
  assert.equal(anthropic.llm?.content?.completion, 'Hi! Bearer [REDACTED]');
  assert.ok(!JSON.stringify(on.signals).includes('contentSECRET'));
  const openai = on.signals.find((s) => s.llm?.provider === 'openai')!;
  const prompt = openai.llm?.content?.prompt ?? '';
  assert.ok(prompt.length > 0 && Buffer.byteLength(prompt) <= LLM_CONTENT_MAX_BYTES);
  assert.ok(!prompt.includes('\uFFFD'), 'cut at a character boundary');

  const off = await replay(t, flows(), 'version: 1\n');
  assert.ok(off.signals.every((s) => s.llm !== undefined && s.llm.content === undefined));
  const disabled = await replay(t, flows(), 'version: 1\nllm:\n  enabled: false\n');
  assert.ok(disabled.signals.every((s) => s.llm === undefined));
});

test('truncateUtf8 cuts at a character boundary', () => {
  assert.equal(truncateUtf8('abc', 10), 'abc');
  assert.equal(truncateUtf8('ééé', 5), 'éé');
  assert.equal(truncateUtf8('a€b', 3), 'a');
  assert.equal(truncateUtf8('😀x', 2), '');
});

/** A WebSocket frame (clients mask). */
function wsFrame(opcode: number, payload: string | Buffer, mask: boolean): Buffer {
  const data = Buffer.from(payload);
  const b = bytes()
    .u8(0x80 | opcode)
    .u8((mask ? 0x80 : 0) | data.length);
  if (!mask) return b.raw(data).build();
  const key = Buffer.from([1, 2, 3, 4]);
  return b
    .raw(key)
    .raw(data.map((x, i) => x ^ key[i & 3]!))
    .build();
}

const CLOSE_1000 = Buffer.from([0x03, 0xe8]);

test('protocols.websocket.messages turns on one signal per WebSocket message', async (t) => {
  const flow = () => {
    const f = new TcpFlow({ client: ['10.1.0.5', 40300], server: ['10.9.0.1', 80] }).handshake();
    f.send(
      'client',
      'GET /realtime HTTP/1.1\r\nHost: rt.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    )
      .send(
        'server',
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
      )
      .send('client', wsFrame(1, '{"type":"hello"}', true))
      .send('server', wsFrame(1, '{"type":"welcome"}', false))
      .send('client', wsFrame(1, '{"type":"bye"}', true))
      .send('client', Buffer.concat([wsFrame(8, CLOSE_1000, true)]))
      .send('server', wsFrame(8, CLOSE_1000, false));
    return f.close();
  };
  const off = await replay(t, [flow()], 'version: 1\n');
  // The Upgrade exchange itself is an http signal (101), then the connection's websocket one.
  assert.deepEqual(
    off.signals.map((s) => [s.protocol, s.protocol === 'http' ? s.status : s.websocket]),
    [
      ['http', 101],
      ['websocket', { messagesSent: 2, messagesReceived: 1, closeCode: 1000 }],
    ],
  );
  const on = await replay(t, [flow()], 'version: 1\nprotocols:\n  websocket: { messages: true }\n');
  const ws = on.signals.filter((s) => s.protocol === 'websocket');
  assert.equal(ws.length, 4, JSON.stringify(ws.map((s) => s.websocket)));
  assert.equal(ws.filter((s) => s.websocket?.closeCode === 1000).length, 1);
});

test('a missing rules file: defaults first, then the file once it appears (TLS key log included)', async (t) => {
  const dir = await tempDir(t);
  const rulesPath = join(dir, 'rules.yaml');
  const keylog = join(dir, 'keylog');
  const stdout = new PassThrough();
  const all = lines(stdout) as TransactionSignal[];
  const sidecar = await runSidecar({
    rulesPath,
    interfaces: [],
    output: 'ndjson',
    stdout,
    metricsPort: -1,
    podIps: ['10.1.0.5'],
  });
  t.after(() => sidecar.stop());
  assert.equal(sidecar.rules().missing, true);
  const feed = async (flow: TcpFlow) => {
    for (const p of flow.packets) sidecar.pipeline.handlePacket(flow.linkType, p.frame, p.tsMs);
    await new Promise((r) => setImmediate(r));
  };
  await feed(rfc8448Flow(40401));
  assert.deepEqual(all[0]?.tls, { sni: 'server', version: '1.3', decrypted: false });

  // The controller renders the ConfigMap: rules with the key log the app writes.
  await writeFile(keylog, `${rfc.keyLogLines().join('\n')}\n`);
  await writeFile(
    rulesPath,
    `version: 1\npolicy: { name: late, namespace: ns }\ncapture:\n  tlsKeyLog: { path: ${keylog} }\n`,
  );
  await sidecar.reloadRules();
  assert.equal(sidecar.rules().missing, undefined);
  assert.equal(sidecar.rules().rules.policy?.name, 'late');
  await feed(rfc8448Flow(40402));
  assert.equal(all.length, 2);
  assert.deepEqual(all[1]?.tls, { sni: 'server', version: '1.3', decrypted: true });
  assert.equal(all[1]?.policy, 'late');
});

test('database and gRPC metrics come out of the sidecar, SQL labels normalized', async (t) => {
  const flow = new TcpFlow({ client: ['10.1.0.5', 40200], server: ['10.9.0.2', 5432] }).handshake();
  flow
    .send('client', pg().startup({ user: 'agent', database: 'app' }).build())
    .advance(1)
    .send('server', pg().authOk().ready().build())
    .advance(1)
    .send('client', pg().query("SELECT * FROM users WHERE email = 'a@b.c'").build())
    .advance(3)
    .send('server', pg().rowDescription(['id']).dataRow(['1']).commandComplete('SELECT 1').ready().build())
    .advance(1)
    .send('client', pg().query("INSERT INTO users VALUES (2, 'x')").build())
    .advance(2)
    .send('server', pg().error('23505', 'duplicate key').ready().build())
    .advance(1)
    .close();
  const { signals, metrics } = await replay(t, [flow], 'version: 1\n');
  assert.deepEqual(
    signals.map((s) => [s.protocol, s.db?.operation, s.status]),
    [
      ['postgres', 'SELECT', 'ok'],
      ['postgres', 'INSERT', '23505'],
    ],
  );
  assert.match(metrics, /axom_db_[a-z_]+\{[^}]*statement="SELECT \* FROM users WHERE email = \?"[^}]*\} 1/);
  assert.match(metrics, /axom_db_client_errors_total\{system="postgresql",code="23505"\} 1/);
  assert.ok(!metrics.includes('a@b.c'), 'literals never reach a label');
});

test('a PostgreSQL TLS switch is counted as not parsed, not as a parse error', async (t) => {
  const flow = new TcpFlow({ client: ['10.1.0.5', 40300], server: ['10.9.0.2', 5432] }).handshake();
  flow
    .send('client', pg().sslRequest().build())
    .advance(1)
    .send('server', pg().byte('S').build())
    .advance(1)
    .close();
  const { metrics } = await replay(t, [flow], 'version: 1\n');
  assert.match(metrics, /^axom_connections_not_parsed_total\{protocol="postgres",reason="tls"\} 1$/m);
  assert.doesNotMatch(metrics, /^axom_parse_errors_total\{/m, 'no parse errors');
});

test('requests a bounded queue drops are counted by number, not only by bytes', async (t) => {
  // 130 pipelined requests with no answer: the HTTP/1.1 session keeps 128 and drops the oldest.
  const flow = new TcpFlow({ client: ['10.1.0.5', 40400], server: ['10.9.0.3', 80] }).handshake();
  let requests = '';
  for (let i = 0; i < 130; i++) requests += `GET /r/${i} HTTP/1.1\r\nHost: svc\r\n\r\n`;
  flow.send('client', requests).advance(1).close();
  const { metrics } = await replay(t, [flow], 'version: 1\n');
  assert.match(metrics, /^axom_dropped_total\{protocol="http",reason="pipeline-overflow"\} 2$/m);
});
