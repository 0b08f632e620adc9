/**
 * LLM usage metering end to end: the real `openai` and `@anthropic-ai/sdk` packages (and
 * Python's openai / anthropic where installed) call a local server speaking each provider's
 * wire format, over plain HTTP, TLS 1.3 and TLS 1.2 with the runtime's own key log, and over
 * HTTP/2. The capture is replayed through the pipeline and the LLM enricher; every call's
 * token counts are asserted exactly.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { Registry } from 'prom-client';
import { PrerequisiteError } from '../../lib/errors.ts';
import { llmEnricher, registerLlmMetrics } from '../../sidecar/llm/index.ts';
import { buildTransactionSignal } from '../../sidecar/signal/builder.ts';
import type { LlmInfo } from '../../sidecar/signal/types.ts';
import {
  EXPECTED_NODE_SDK_CALLS,
  EXPECTED_NODE_SDK_OUTPUT,
  nodeSdkClient,
  providerHandler,
} from './llm-servers.ts';
import {
  listen,
  type Observed,
  replayWithKeys,
  run,
  runNodeScript,
  selfSignedCert,
  startCapture,
  tempDir,
  which,
} from './tls-capture.ts';

const LLM_ON = {
  llm: {
    enabled: true,
    mcp: true,
    captureContent: false,
    providers: { openai: true, anthropic: true, bedrock: true, gemini: true, openaiCompatible: true },
  },
};

function meter(observed: Observed[]) {
  const registry = new Registry();
  const metrics = registerLlmMetrics(registry);
  const enrich = llmEnricher(LLM_ON, { metrics });
  const signals = observed
    .filter((o) => o.tx.http !== undefined)
    .map((o) => {
      const s = buildTransactionSignal(o.tx, { ...o.conn, tls: o.tls });
      enrich(o.tx, { ...o.conn, tls: o.tls }, s);
      return s;
    });
  return { signals, registry };
}

/** The llm object without provider and the timing field (which varies run to run). */
function usageOf(llm: LlmInfo | undefined) {
  if (llm === undefined) return undefined;
  const { provider: _p, timeToFirstTokenMs: _t, ...rest } = llm;
  return rest;
}

async function sdkCase(t: TestContext, mode: 'http' | 'tls13' | 'tls12') {
  const dir = tempDir(t, 'axom-llm-');
  let port: number;
  let baseURL: string;
  const env: Record<string, string> = {};
  const flags: string[] = [];
  const keylog = join(dir, 'keylog');
  if (mode === 'http') {
    port = await listen(t, createHttpServer(providerHandler));
    baseURL = `http://127.0.0.1:${port}`;
  } else {
    const cert = selfSignedCert(dir);
    const server = createHttpsServer(
      {
        key: cert.key,
        cert: cert.cert,
        ...(mode === 'tls12' ? { maxVersion: 'TLSv1.2' as const } : { minVersion: 'TLSv1.3' as const }),
      },
      providerHandler,
    );
    port = await listen(t, server as unknown as HttpServer);
    baseURL = `https://localhost:${port}`;
    env.NODE_EXTRA_CA_CERTS = cert.certPath;
    flags.push(`--tls-keylog=${keylog}`);
  }
  const capture = await startCapture(t, dir, port);
  const script = nodeSdkClient(import.meta.resolve('openai'), import.meta.resolve('@anthropic-ai/sdk'));
  const result = await runNodeScript(t, dir, 'sdk.mjs', script, flags, {
    ...env,
    AXOM_TEST: JSON.stringify({ baseURL }),
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout.trim().split('\n').pop()!), EXPECTED_NODE_SDK_OUTPUT);
  const { observed } = await replayWithKeys(await capture.stop(), mode === 'http' ? undefined : keylog);
  const { signals, registry } = meter(observed);
  const llm = signals.filter((s) => s.llm !== undefined);
  assert.deepEqual(
    llm.map((s) => usageOf(s.llm)),
    EXPECTED_NODE_SDK_CALLS,
  );
  for (const s of llm) {
    assert.equal(s.tls?.decrypted ?? false, mode !== 'http');
    if (s.llm!.stream === true) assert.ok(s.llm!.timeToFirstTokenMs! >= 0);
  }
  assert.deepEqual(
    llm.map((s) => s.llm!.provider),
    [
      'openai_compatible',
      'openai_compatible',
      'openai_compatible',
      'openai_compatible',
      'openai_compatible',
      'openai_compatible',
      'anthropic',
      'anthropic',
    ],
  );
  // The 429 carries the rate-limit headers into signal.metrics and counts as an error.
  const limited = llm[5]!;
  assert.equal(limited.status, 429);
  assert.equal(limited.metrics?.llm_ratelimit_remaining_requests, 0);
  assert.equal(limited.metrics?.llm_error, 1);
  const text = await registry.metrics();
  assert.match(
    text,
    /axom_llm_tokens_total\{provider="anthropic",model="claude-sonnet-4-20250514",type="input"\} 1250/,
  );
  assert.match(
    text,
    /axom_llm_tokens_total\{provider="openai_compatible",model="o4-mini",type="reasoning"\} 196/,
  );
  // The API keys the SDKs sent never reach a signal's LLM fields or the metrics.
  assert.ok(!text.includes('sk-test') && !JSON.stringify(llm.map((s) => s.llm)).includes('sk-'));
}

test('openai and @anthropic-ai/sdk over plain HTTP: exact token counts', async (t) => {
  await sdkCase(t, 'http');
});

test('openai and @anthropic-ai/sdk over TLS 1.3, keys from NODE_OPTIONS-style --tls-keylog', async (t) => {
  await sdkCase(t, 'tls13');
});

test('openai and @anthropic-ai/sdk over TLS 1.2', async (t) => {
  await sdkCase(t, 'tls12');
});

test('HTTP/2 with ALPN: OpenAI-format calls over h2 are metered', async (t) => {
  const dir = tempDir(t, 'axom-llm-');
  const cert = selfSignedCert(dir);
  const server = createSecureServer(
    { key: cert.key, cert: cert.cert, allowHTTP1: true },
    providerHandler as never,
  );
  const port = await listen(t, server);
  const capture = await startCapture(t, dir, port);
  const keylog = join(dir, 'keylog');
  const client = `
import http2 from 'node:http2';
const { port, ca } = JSON.parse(process.env.AXOM_TEST);
const session = http2.connect('https://localhost:' + port, { ca });
async function post(path, body) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':method': 'POST', 'content-type': 'application/json', authorization: 'Bearer sk-test' });
    let text = ''; req.on('data', (d) => text += d); req.on('end', () => resolve(text)); req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
await post('/v1/chat/completions', { model: 'gpt-4o', messages: [] });
await post('/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [] });
session.close();
`;
  const result = await runNodeScript(t, dir, 'h2.mjs', client, [`--tls-keylog=${keylog}`], {
    AXOM_TEST: JSON.stringify({ port, ca: cert.cert }),
  });
  assert.equal(result.code, 0, result.stderr);
  const { observed } = await replayWithKeys(await capture.stop(), keylog);
  const { signals } = meter(observed);
  const llm = signals.filter((s) => s.llm !== undefined);
  assert.deepEqual(
    llm.map((s) => [s.protocol, s.tls?.decrypted, s.llm?.inputTokens, s.llm?.outputTokens, s.llm?.stream]),
    [
      ['http2', true, 1200, 42, false],
      ['http2', true, 17, 2, true],
    ],
  );
});

test('Python openai and anthropic SDKs (httpx) with SSLKEYLOGFILE over TLS', async (t) => {
  const python = which('python3');
  if (python === undefined) throw new PrerequisiteError('python3 is required');
  const check = await run(t, python, ['-c', 'import openai, anthropic'], process.env);
  if (check.code !== 0)
    throw new PrerequisiteError('Python openai/anthropic are not installed (pip install openai anthropic)');
  const dir = tempDir(t, 'axom-llm-');
  const cert = selfSignedCert(dir);
  const port = await listen(
    t,
    createHttpsServer({ key: cert.key, cert: cert.cert }, providerHandler) as unknown as HttpServer,
  );
  const capture = await startCapture(t, dir, port);
  const keylog = join(dir, 'keylog');
  // Only the test CA is configured in code; the key log comes from SSLKEYLOGFILE alone.
  const script = `
import sys, ssl, openai, anthropic
base = sys.argv[1]
def make(cls, **kw):
    # The CA for the self-signed test server; ssl.create_default_context is also what
    # honours SSLKEYLOGFILE. Newer SDK releases use the httpx2 fork, older ones httpx.
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    for mod in ("httpx2", "httpx"):
        try:
            return cls(http_client=__import__(mod).Client(verify=ctx), **kw)
        except (ImportError, TypeError):
            continue
    raise RuntimeError("no usable httpx")
o = make(openai.OpenAI, base_url=base + "/v1", api_key="sk-test", max_retries=0)
a = make(anthropic.Anthropic, base_url=base, api_key="sk-ant-test", max_retries=0)
r = o.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
out = [r.usage.prompt_tokens]
for c in o.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True, stream_options={"include_usage": True}):
    if c.usage: out.append(c.usage.prompt_tokens)
m = a.messages.create(model="claude-sonnet-4-20250514", max_tokens=10, messages=[{"role": "user", "content": "x"}])
out.append(m.usage.input_tokens)
with a.messages.stream(model="claude-3-5-haiku-20241022", max_tokens=10, messages=[{"role": "user", "content": "x"}]) as s:
    out.append(s.get_final_message().usage.output_tokens)
print(out)
`;
  const result = await run(t, python, ['-c', script, `https://localhost:${port}`, cert.certPath], {
    ...process.env,
    SSLKEYLOGFILE: keylog,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), '[1200, 17, 50, 15]');
  const { observed } = await replayWithKeys(await capture.stop(), keylog);
  const { signals } = meter(observed);
  assert.deepEqual(
    signals
      .filter((s) => s.llm !== undefined)
      .map((s) => [s.llm!.provider, s.llm!.model, s.llm!.inputTokens, s.llm!.outputTokens, s.tls?.decrypted]),
    [
      ['openai_compatible', 'gpt-4o', 1200, 42, true],
      ['openai_compatible', 'gpt-4o-mini', 17, 2, true],
      ['anthropic', 'claude-sonnet-4-20250514', 1250, 30, true],
      ['anthropic', 'claude-3-5-haiku-20241022', 35, 15, true],
    ],
  );
});
