/**
 * The real `axom-observer sidecar` command meters LLM calls made over TLS, with no flag but
 * the rules file: TLS decryption (rules `capture.tlsKeyLog`), then the built-in LLM
 * extraction. The agent side runs the real `openai` and `@anthropic-ai/sdk` packages with
 * their default base URLs inside a network namespace whose /etc/hosts (ip netns exec binds
 * /etc/netns/<ns>/hosts) points api.openai.com and api.anthropic.com at a local server in a
 * second namespace speaking each provider's wire format (test/integration/llm-servers.ts).
 *
 * (a) offline: the traffic recorded by tcpdump, key log written by Node's --tls-keylog, then
 *     `sidecar --pcap-file … --rules … --output ndjson`;
 * (b) live: the sidecar capturing in the namespace while the Anthropic SDK runs there with
 *     NODE_OPTIONS=--tls-keylog=… exactly as the webhook injects it; Prometheus scraped, and
 *     SIGTERM ends the process promptly (libpcap's handle is closed, no exit timer).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { PrerequisiteError } from '../../lib/errors.ts';
import { validateSignal } from '../../sidecar/signal/index.ts';
import type { LlmInfo, Signal, TransactionSignal } from '../../sidecar/signal/types.ts';
import { createNetnsPair, type NetnsEnd, type NetnsPair, waitForLine } from '../harness/netns.ts';
import { type CertFiles, opensslSelfSignedCert } from '../harness/pki.ts';
import { EXPECTED_NODE_SDK_CALLS } from './llm-servers.ts';
import { requireTool, run, tcpdumpStarted, tempDir } from './tls-capture.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'cli/main.ts');
const NODE = process.execPath;
const OPENAI_KEY = 'sk-proj-e2eOPENAIsecret0123456789abcdefXYZ';
const ANTHROPIC_KEY = 'sk-ant-api03-e2eANTHROPICsecret0123456789abcdef';
const HOSTS = ['api.openai.com', 'api.anthropic.com'];

/** The expected metering of an EXPECTED_NODE_SDK_CALLS entry, by model. */
function expected(model: string) {
  const e = EXPECTED_NODE_SDK_CALLS.find((c) => c.model === model);
  assert.ok(e, model);
  return e;
}

/** The llm object without provider and the timing field (which varies run to run). */
function usageOf(llm: LlmInfo | undefined) {
  if (llm === undefined) return undefined;
  const { provider: _p, timeToFirstTokenMs: _t, ...rest } = llm;
  return rest;
}

/** A certificate the SDKs accept for the providers' real host names (via NODE_EXTRA_CA_CERTS). */
function providerCert(dir: string): CertFiles {
  return opensslSelfSignedCert(dir, { commonName: 'api.openai.com', altNames: HOSTS.map((h) => `DNS:${h}`) });
}

interface World {
  pair: NetnsPair;
  /** The pod's namespace (agent and sidecar). */
  pod: NetnsEnd;
  certPath: string;
  dir: string;
}

/**
 * Two namespaces; the provider server (HTTPS, TLS 1.3, port 443) in the second; the first
 * resolves the providers' host names to it. Everything is removed after the test.
 */
async function world(t: TestContext): Promise<World> {
  for (const tool of ['tcpdump', 'curl', 'openssl']) requireTool(tool);
  const dir = tempDir(t, 'axom-sidecar-llm-');
  const pair = await createNetnsPair();
  const hostsDir = `/etc/netns/${pair.a.ns}`;
  t.after(async () => {
    await pair.destroy();
    rmSync(hostsDir, { recursive: true, force: true });
    try {
      rmdirSync('/etc/netns'); // only when no other namespace has files there
    } catch {
      // not empty, or already gone
    }
  });
  try {
    mkdirSync(hostsDir, { recursive: true });
    writeFileSync(join(hostsDir, 'hosts'), `127.0.0.1 localhost\n${pair.b.ip} ${HOSTS.join(' ')}\n`);
  } catch (err) {
    throw new PrerequisiteError(`cannot write ${hostsDir}/hosts: ${(err as Error).message}`);
  }
  const cert = providerCert(dir);
  const server = join(dir, 'provider-server.mjs');
  writeFileSync(
    server,
    `import { createServer } from 'node:https';
import { providerHandler } from ${JSON.stringify(pathToFileURL(join(ROOT, 'test/integration/llm-servers.ts')).href)};
const { key, cert, host } = JSON.parse(process.env.AXOM_TEST);
createServer({ key, cert, minVersion: 'TLSv1.3' }, providerHandler).listen(443, host, () => console.log('listening'));
`,
  );
  const child = pair.spawnNode(pair.b, server, [], {
    env: { ...process.env, AXOM_TEST: JSON.stringify({ key: cert.key, cert: cert.cert, host: pair.b.ip }) },
  });
  await waitForLine(child, /^listening/);
  return { pair, pod: pair.a, certPath: cert.certPath, dir };
}

/** Runs a Node ESM script inside the pod's namespace with extra environment; its result. */
async function agent(
  w: World,
  name: string,
  source: string,
  env: Record<string, string>,
  flags: string[] = [],
) {
  const file = join(w.dir, name);
  writeFileSync(file, source);
  const vars = Object.entries({ NODE_EXTRA_CA_CERTS: w.certPath, ...env }).map(([k, v]) => `${k}=${v}`);
  const r = await w.pair.run(w.pod, ['env', ...vars, NODE, ...flags, file], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as unknown;
}

const OPENAI_CLIENT = `
import OpenAI from ${JSON.stringify(import.meta.resolve('openai'))};
const openai = new OpenAI({ apiKey: ${JSON.stringify(OPENAI_KEY)}, maxRetries: 0 });
const out = [];
const chat = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }] });
out.push(chat.usage.prompt_tokens, chat.choices[0].message.tool_calls[0].function.name);
const s = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
for await (const c of s) if (c.usage) out.push(c.usage.prompt_tokens, c.usage.completion_tokens);
console.log(JSON.stringify(out));
`;

const ANTHROPIC_CLIENT = `
import Anthropic from ${JSON.stringify(import.meta.resolve('@anthropic-ai/sdk'))};
const anthropic = new Anthropic({ apiKey: ${JSON.stringify(ANTHROPIC_KEY)}, maxRetries: 0 });
const m = await anthropic.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 100, messages: [{ role: 'user', content: 'ACME?' }] });
const ms = anthropic.messages.stream({ model: 'claude-3-5-haiku-20241022', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
const final = await ms.finalMessage();
const tools = (msg) => msg.content.filter((b) => b.type === 'tool_use').map((b) => b.name);
console.log(JSON.stringify([m.usage.input_tokens, tools(m), final.usage.output_tokens, tools(final)]));
`;

function parseSignals(stdout: string): Signal[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const s = JSON.parse(l) as Signal;
      const check = validateSignal(s);
      assert.ok(check.valid, `invalid signal ${l}\n${check.errors.join('\n')}`);
      return s;
    });
}

function llmSignals(signals: Signal[]): TransactionSignal[] {
  return signals.filter((s): s is TransactionSignal => s.kind === 'transaction' && s.llm !== undefined);
}

/** Sum of a Prometheus metric's samples whose labels include `labels`. */
function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) {
      sum += Number(m[3]);
      found = true;
    }
  }
  assert.ok(found, `metric ${name}${JSON.stringify(labels)} missing`);
  return sum;
}

function rulesFile(dir: string, keylog: string, extra = ''): string {
  const path = join(dir, 'rules.yaml');
  writeFileSync(
    path,
    `version: 1
policy: { name: llm-e2e, namespace: ai }
capture:
  tlsKeyLog: { path: ${keylog} }
${extra}`,
  );
  return path;
}

test('sidecar --pcap-file: the openai SDK over TLS 1.3, decrypted with its --tls-keylog, metered exactly', async (t) => {
  const w = await world(t);
  const keylog = join(w.dir, 'keylog');
  const pcap = join(w.dir, 'openai.pcap');
  const tcpdump: ChildProcess = w.pair.spawn(w.pod, [
    'tcpdump',
    '-i',
    w.pod.iface,
    '-U',
    '--immediate-mode',
    '-n',
    '-s',
    '0',
    '-Z',
    'root',
    '-w',
    pcap,
    'tcp port 443',
  ]);
  const stopped = new Promise((r) => tcpdump.once('exit', r));
  await tcpdumpStarted(tcpdump);
  const seen = await agent(w, 'openai.mjs', OPENAI_CLIENT, {}, [`--tls-keylog=${keylog}`]);
  assert.deepEqual(seen, [1200, 'get_weather', 17, 2], 'the SDK itself saw the provider answer');
  // Let the last packets reach the file, then stop the recording.
  await new Promise((r) => setTimeout(r, 300));
  tcpdump.kill('SIGINT');
  await stopped;

  const r = await run(
    t,
    NODE,
    [
      CLI,
      'sidecar',
      '--pcap-file',
      pcap,
      '--rules',
      rulesFile(w.dir, keylog),
      '--output',
      'ndjson',
      '--metrics-port',
      '0',
      '--pod-ips',
      w.pod.ip,
    ],
    process.env,
  );
  assert.equal(r.code, 0, r.stderr);
  const signals = parseSignals(r.stdout);
  const llm = llmSignals(signals);
  assert.deepEqual(
    llm.map((s) => usageOf(s.llm)),
    [expected('gpt-4o'), expected('gpt-4o-mini')],
  );
  for (const s of llm) {
    assert.equal(s.llm?.provider, 'openai');
    assert.deepEqual(s.tls, { sni: 'api.openai.com', version: '1.3', decrypted: true });
    assert.equal(s.protocol, 'http');
    assert.equal(s.direction, 'outbound');
    assert.equal(s.destination.host, 'api.openai.com');
    assert.equal(s.destination.port, 443);
    assert.equal(s.status, 200);
    assert.equal(s.outcome, 'success');
    assert.equal(s.policy, 'llm-e2e');
    assert.equal(s.http?.requestHeaders?.authorization, 'Bearer [REDACTED]');
  }
  assert.ok(llm[1]!.llm!.timeToFirstTokenMs! >= 0);
  // Anything else on the wire is a connection that carried no request (the HTTP client may
  // open one it never uses): its own `tls` signal, decrypted, with no HTTP in it.
  for (const s of signals) {
    if (s.kind !== 'transaction' || s.llm !== undefined) continue;
    assert.equal(s.protocol, 'tls', JSON.stringify(s));
    assert.equal(s.http, undefined);
    assert.deepEqual(s.tls, { sni: 'api.openai.com', version: '1.3', decrypted: true });
  }
  assert.ok(!r.stdout.includes(OPENAI_KEY) && !r.stderr.includes(OPENAI_KEY), 'the API key leaked');
});

test('sidecar live in the pod namespace: @anthropic-ai/sdk with NODE_OPTIONS=--tls-keylog, tokens and tool_use names exact, Prometheus, prompt exit on SIGTERM', async (t) => {
  const w = await world(t);
  const keylog = join(w.dir, 'keylog');
  const rules = rulesFile(w.dir, keylog, `  interfaces: [${w.pod.iface}]\n`);
  const sidecar = w.pair.spawn(w.pod, [
    NODE,
    CLI,
    'sidecar',
    '--rules',
    rules,
    '--output',
    'ndjson',
    '--metrics-port',
    '2112',
    '--pod-name',
    'agent-0',
    '--pod-namespace',
    'ai',
  ]);
  let stdout = '';
  let stderr = '';
  sidecar.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  sidecar.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => sidecar.once('exit', (code) => r(code)));
  const curl = async (path: string) =>
    (await w.pair.run(w.pod, ['curl', '-sf', `http://127.0.0.1:2112${path}`], { timeoutMs: 5000 })).stdout;
  const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + 30_000;
    while (!(await ok())) {
      if (sidecar.exitCode !== null) throw new Error(`the sidecar exited: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await until('the sidecar to be ready', async () => (await curl('/readyz')).startsWith('ready'));

  // The agent: the webhook appends --tls-keylog to NODE_OPTIONS; the SDK uses its defaults.
  const seen = await agent(w, 'anthropic.mjs', ANTHROPIC_CLIENT, { NODE_OPTIONS: `--tls-keylog=${keylog}` });
  assert.deepEqual(seen, [50, ['get_stock_price'], 15, ['lookup']], 'the SDK itself saw the provider answer');
  await until('two LLM signals', () => llmSignals(parseSignals(stdout)).length >= 2);

  const metrics = await curl('/metrics');
  const sonnet = expected('claude-sonnet-4-20250514');
  const haiku = expected('claude-3-5-haiku-20241022');
  for (const e of [sonnet, haiku]) {
    assert.equal(
      metricValue(metrics, 'axom_llm_tokens_total', { provider: 'anthropic', model: e.model, type: 'input' }),
      e.inputTokens,
    );
    assert.equal(
      metricValue(metrics, 'axom_llm_tokens_total', {
        provider: 'anthropic',
        model: e.model,
        type: 'output',
      }),
      e.outputTokens,
    );
    assert.equal(
      metricValue(metrics, 'gen_ai_client_token_usage_sum', {
        gen_ai_provider_name: 'anthropic',
        gen_ai_request_model: e.model,
        gen_ai_token_type: 'input',
      }),
      e.inputTokens,
    );
  }
  assert.ok(metricValue(metrics, 'axom_tls_records_total', { result: 'ok' }) > 0);
  assert.equal(metricValue(metrics, 'axom_tls_records_total', { result: 'auth_failed' }), 0);

  // SIGTERM: flushed and gone promptly (a libpcap handle left open would keep it running).
  const termAt = Date.now();
  sidecar.kill('SIGTERM');
  const code = await Promise.race([
    exited,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`the sidecar did not exit within 10 s of SIGTERM\n${stderr}`)),
        10_000,
      ),
    ),
  ]);
  assert.equal(code, 0, stderr);
  t.diagnostic(`exited ${Date.now() - termAt} ms after SIGTERM`);

  const signals = parseSignals(stdout);
  const llm = llmSignals(signals);
  assert.deepEqual(
    llm.map((s) => usageOf(s.llm)),
    [sonnet, haiku],
  );
  for (const s of llm) {
    assert.equal(s.llm?.provider, 'anthropic');
    assert.deepEqual(s.tls, { sni: 'api.anthropic.com', version: '1.3', decrypted: true });
    assert.equal(s.destination.host, 'api.anthropic.com');
    assert.equal(s.direction, 'outbound');
    assert.equal(s.source.ip, w.pod.ip);
    assert.deepEqual(s.pod, { name: 'agent-0', namespace: 'ai' });
    // The SDK sends its key as x-api-key or, in recent versions, as a Bearer token.
    const headers = s.http?.requestHeaders ?? {};
    assert.ok('x-api-key' in headers || 'authorization' in headers, JSON.stringify(headers));
    if ('x-api-key' in headers) assert.equal(headers['x-api-key'], '[REDACTED]');
    if ('authorization' in headers) assert.equal(headers.authorization, 'Bearer [REDACTED]');
    assert.equal(s.outcome, 'success');
  }
  assert.equal(llm[1]?.llm?.stream, true);
  assert.ok(!stdout.includes(ANTHROPIC_KEY) && !stderr.includes(ANTHROPIC_KEY), 'the API key leaked');
});
