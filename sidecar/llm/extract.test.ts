import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import type { LlmSpec } from '../../lib/policy/types.ts';
import type { ConnectionInfo } from '../protocols/types.ts';
import type { TransactionSignal } from '../signal/types.ts';
import { decodeEventStream, encodeEventStreamMessage } from './eventstream.ts';
import { extractLlm, llmEnricher, registerLlmMetrics } from './index.ts';
import { httpTx } from './testdata/tx.ts';
import * as wire from './testdata/wire.ts';

const ALL_ON: LlmSpec = {
  enabled: true,
  providers: { openai: true, anthropic: true, bedrock: true, gemini: true, openaiCompatible: true },
  mcp: true,
  captureContent: false,
};

test('OpenAI chat: tokens, cached and reasoning, tool call names, finish reason', () => {
  const u = extractLlm(
    httpTx({
      path: '/v1/chat/completions',
      request: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
      response: wire.openaiChat.body,
    }),
  );
  assert.deepEqual(
    { ...u, rateLimit: undefined },
    {
      provider: 'openai',
      operation: 'chat',
      model: 'gpt-4o',
      stream: false,
      responseModel: 'gpt-4o-2024-08-06',
      inputTokens: 1200,
      outputTokens: 42,
      cachedInputTokens: 1024,
      reasoningTokens: 0,
      finishReason: 'tool_calls',
      toolCalls: ['get_weather'],
      rateLimit: undefined,
    },
  );
});

test('OpenAI chat streaming with include_usage: usage from the last chunk, time to first token', () => {
  const u = extractLlm(
    httpTx({
      path: '/v1/chat/completions',
      request: { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [] },
      response: wire.openaiChatStream(),
      eventTimes: [200, 350, 400, 450, 460, 470],
    }),
  )!;
  assert.equal(u.stream, true);
  assert.equal(u.inputTokens, 17);
  assert.equal(u.outputTokens, 2);
  assert.equal(u.finishReason, 'stop');
  assert.equal(u.timeToFirstTokenMs, 350); // the role-only first chunk carries no token
});

test('OpenAI Responses: JSON and streaming', () => {
  const u = extractLlm(
    httpTx({
      path: '/v1/responses',
      request: { model: 'o4-mini', input: 'x' },
      response: wire.openaiResponses.body,
    }),
  )!;
  assert.equal(u.inputTokens, 300);
  assert.equal(u.outputTokens, 250);
  assert.equal(u.cachedInputTokens, 128);
  assert.equal(u.reasoningTokens, 192);
  assert.deepEqual(u.toolCalls, ['search_docs']);
  assert.equal(u.finishReason, 'completed');
  const s = extractLlm(
    httpTx({
      path: '/v1/responses',
      request: { model: 'o4-mini', input: 'x', stream: true },
      response: wire.openaiResponsesStream(),
    }),
  )!;
  assert.equal(s.stream, true);
  assert.equal(s.inputTokens, 11);
  assert.equal(s.outputTokens, 7);
  assert.equal(s.reasoningTokens, 4);
  assert.equal(s.timeToFirstTokenMs, 120);
});

test('OpenAI embeddings and OpenAI-compatible servers (vLLM) by path on another host', () => {
  const e = extractLlm(
    httpTx({
      path: '/v1/embeddings',
      request: { model: 'text-embedding-3-small', input: 'x' },
      response: wire.openaiEmbeddings.body,
    }),
  )!;
  assert.equal(e.operation, 'embeddings');
  assert.equal(e.inputTokens, 8);
  assert.equal(e.outputTokens, undefined);
  const v = extractLlm(
    httpTx({
      host: 'vllm.inference.svc:8000',
      path: '/v1/chat/completions',
      request: { model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [] },
      response: wire.openaiChat.body,
    }),
  )!;
  assert.equal(v.provider, 'openai_compatible');
  assert.equal(v.model, 'meta-llama/Llama-3.1-8B-Instruct');
  const azure = extractLlm(
    httpTx({
      host: 'my.openai.azure.com',
      path: '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21',
      request: { messages: [] },
      response: wire.openaiChat.body,
    }),
  )!;
  assert.equal(azure.provider, 'azure.ai.openai');
  assert.equal(azure.model, 'gpt4o-prod');
});

test('Ollama native API: prompt_eval_count / eval_count, NDJSON stream', () => {
  const lines = [
    { model: 'llama3.2', message: { role: 'assistant', content: 'He' }, done: false },
    { model: 'llama3.2', message: { role: 'assistant', content: 'llo' }, done: false },
    {
      model: 'llama3.2',
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 26,
      eval_count: 298,
    },
  ];
  const u = extractLlm(
    httpTx({
      host: 'ollama:11434',
      path: '/api/chat',
      request: { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] },
      response: Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n')),
      contentType: 'application/x-ndjson',
    }),
  )!;
  assert.equal(u.provider, 'ollama');
  assert.equal(u.stream, true);
  assert.equal(u.inputTokens, 26);
  assert.equal(u.outputTokens, 298);
  assert.equal(u.finishReason, 'stop');
});

test('Anthropic Messages: cache read and creation tokens, tool_use names', () => {
  const u = extractLlm(
    httpTx({
      host: 'api.anthropic.com',
      path: '/v1/messages',
      request: { model: 'claude-sonnet-4-20250514', max_tokens: 100, messages: [] },
      response: wire.anthropicMessage.body,
    }),
  )!;
  assert.equal(u.provider, 'anthropic');
  assert.equal(u.inputTokens, 1250); // 50 + 1000 cache reads + 200 cache writes
  assert.equal(u.cachedInputTokens, 1000);
  assert.equal(u.cacheCreationTokens, 200);
  assert.equal(u.outputTokens, 30);
  assert.deepEqual(u.toolCalls, ['get_stock_price']);
  assert.equal(u.finishReason, 'tool_use');
});

test('Anthropic streaming: message_delta usage is cumulative, the last value wins', () => {
  const u = extractLlm(
    httpTx({
      host: 'api.anthropic.com',
      path: '/v1/messages',
      request: { model: 'claude-3-5-haiku-20241022', stream: true, messages: [] },
      response: wire.anthropicStream(),
    }),
  )!;
  assert.equal(u.stream, true);
  assert.equal(u.outputTokens, 15); // not 1 + 15 + 15
  assert.equal(u.inputTokens, 35);
  assert.equal(u.cachedInputTokens, 10);
  assert.deepEqual(u.toolCalls, ['lookup']);
  assert.equal(u.timeToFirstTokenMs, 130);
});

test('errors: 429 with rate-limit headers, 529 overloaded, an error inside a 200 stream', () => {
  const limited = extractLlm(
    httpTx({
      path: '/v1/chat/completions',
      request: { model: 'gpt-4o', messages: [] },
      status: 429,
      responseHeaders: {
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-remaining-tokens': '1200',
        'retry-after': '20',
      },
      response: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
    }),
  )!;
  assert.deepEqual(limited.error, { type: 'requests', status: 429, inStream: false });
  assert.deepEqual(limited.rateLimit, {
    limitRequests: 500,
    remainingRequests: 0,
    remainingTokens: 1200,
    retryAfterSeconds: 20,
  });
  const overloaded = extractLlm(
    httpTx({
      host: 'api.anthropic.com',
      path: '/v1/messages',
      request: { model: 'claude' },
      status: 529,
      response: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    }),
  )!;
  assert.deepEqual(overloaded.error, { type: 'overloaded_error', status: 529, inStream: false });
  const inStream = extractLlm(
    httpTx({
      host: 'api.anthropic.com',
      path: '/v1/messages',
      request: { model: 'claude', stream: true },
      response: wire.anthropicOverloadedStream(),
    }),
  )!;
  assert.deepEqual(inStream.error, { type: 'overloaded_error', inStream: true });
  assert.equal(inStream.finishReason, 'error');
  const oaiStream = extractLlm(
    httpTx({
      path: '/v1/chat/completions',
      request: { model: 'gpt-4o', stream: true },
      response: wire.sse([{ data: { error: { type: 'server_error', message: 'boom' } } }]),
    }),
  )!;
  assert.deepEqual(oaiStream.error, { type: 'server_error', inStream: true });
});

test('Gemini: usageMetadata with cached and thinking tokens; streaming takes the last', () => {
  const u = extractLlm(
    httpTx({
      host: 'generativelanguage.googleapis.com',
      path: '/v1beta/models/gemini-2.5-flash:generateContent',
      request: { contents: [] },
      response: wire.geminiGenerate.body,
    }),
  )!;
  assert.equal(u.provider, 'gcp.gemini');
  assert.equal(u.operation, 'generate_content');
  assert.equal(u.model, 'gemini-2.5-flash');
  assert.equal(u.inputTokens, 70);
  assert.equal(u.outputTokens, 32);
  assert.equal(u.reasoningTokens, 20);
  assert.equal(u.cachedInputTokens, 32);
  assert.deepEqual(u.toolCalls, ['find_flights']);
  const s = extractLlm(
    httpTx({
      host: 'generativelanguage.googleapis.com',
      path: '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse',
      request: { contents: [] },
      response: wire.geminiStream(),
    }),
  )!;
  assert.equal(s.stream, true);
  assert.equal(s.inputTokens, 9);
  assert.equal(s.outputTokens, 5);
  assert.equal(s.finishReason, 'STOP');
});

test('Bedrock: InvokeModel headers, Converse body, ConverseStream and InvokeModelWithResponseStream event streams', () => {
  const host = 'bedrock-runtime.us-east-1.amazonaws.com';
  const invoke = extractLlm(
    httpTx({
      host,
      path: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke',
      request: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, messages: [] },
      responseHeaders: { 'x-amzn-bedrock-input-token-count': '21', 'x-amzn-bedrock-output-token-count': '9' },
      response: {
        type: 'message',
        content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 21, output_tokens: 9 },
      },
    }),
  )!;
  assert.equal(invoke.provider, 'aws.bedrock');
  assert.equal(invoke.model, 'anthropic.claude-3-haiku-20240307-v1:0');
  assert.equal(invoke.inputTokens, 21);
  assert.equal(invoke.outputTokens, 9);
  assert.equal(invoke.finishReason, 'end_turn');
  const converse = extractLlm(
    httpTx({
      host,
      path: '/model/amazon.nova-lite-v1:0/converse',
      request: { messages: [] },
      response: wire.bedrockConverse.body,
    }),
  )!;
  assert.equal(converse.inputTokens, 120);
  assert.equal(converse.outputTokens, 33);
  assert.deepEqual(converse.toolCalls, ['top_song']);
  const stream = extractLlm(
    httpTx({
      host,
      path: '/model/amazon.nova-lite-v1:0/converse-stream',
      request: { messages: [] },
      response: wire.bedrockConverseStream(),
      contentType: 'application/vnd.amazon.eventstream',
    }),
  )!;
  assert.equal(stream.stream, true);
  assert.equal(stream.inputTokens, 101);
  assert.equal(stream.cachedInputTokens, 40);
  assert.equal(stream.outputTokens, 19);
  assert.deepEqual(stream.toolCalls, ['weather']);
  assert.equal(stream.finishReason, 'tool_use');
  assert.equal(stream.timeToFirstTokenMs, 100);
  const invokeStream = extractLlm(
    httpTx({
      host,
      path: '/model/anthropic.claude-3-haiku/invoke-with-response-stream',
      request: { messages: [] },
      response: wire.bedrockInvokeStream(),
      contentType: 'application/vnd.amazon.eventstream',
    }),
  )!;
  assert.equal(invokeStream.inputTokens, 14);
  assert.equal(invokeStream.outputTokens, 6);
  assert.equal(invokeStream.finishReason, 'end_turn');
  const throttled = extractLlm(
    httpTx({
      host,
      path: '/model/x/converse-stream',
      request: {},
      response: wire.bedrockThrottledStream(),
      contentType: 'application/vnd.amazon.eventstream',
    }),
  )!;
  assert.deepEqual(throttled.error, { type: 'throttlingException', inStream: true });
  const http429 = extractLlm(
    httpTx({
      host,
      path: '/model/x/converse',
      request: {},
      status: 429,
      responseHeaders: {
        'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/',
      },
      response: { message: 'slow down' },
    }),
  )!;
  assert.equal(http429.error?.type, 'ThrottlingException');
});

test('event stream: CRCs are checked and a truncated stream keeps the whole messages', () => {
  const all = wire.bedrockConverseStream();
  assert.equal(decodeEventStream(all).messages.length, 7);
  const cut = decodeEventStream(all.subarray(0, all.length - 5));
  assert.equal(cut.messages.length, 6);
  assert.equal(cut.error, 'truncated');
  const flipped = Buffer.from(all);
  flipped[20]! ^= 1;
  assert.equal(decodeEventStream(flipped).error, 'bad-message-crc');
  const one = encodeEventStreamMessage({ ':event-type': 'x' }, Buffer.from('{}'));
  assert.deepEqual(decodeEventStream(one).messages[0]!.headers, { ':event-type': 'x' });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (data) => {
      decodeEventStream(Buffer.concat([one, Buffer.from(data)]));
    }),
    { numRuns: 300 },
  );
});

test('providers are switchable; non-LLM traffic is ignored', () => {
  const tx = httpTx({
    host: 'api.anthropic.com',
    path: '/v1/messages',
    request: { model: 'claude' },
    response: wire.anthropicMessage.body,
  });
  assert.equal(
    extractLlm(tx, { spec: { ...ALL_ON, providers: { ...ALL_ON.providers, anthropic: false } } }),
    undefined,
  );
  assert.equal(extractLlm(tx, { spec: { ...ALL_ON, enabled: false } }), undefined);
  assert.ok(extractLlm(tx, { spec: ALL_ON }));
  assert.equal(
    extractLlm(httpTx({ path: '/v1/users', request: { name: 'x' }, response: { ok: true } })),
    undefined,
  );
  assert.equal(extractLlm(httpTx({ method: 'GET', path: '/v1/chat/completions' })), undefined);
});

test('content is captured only when the policy opts in', () => {
  const tx = httpTx({
    path: '/v1/chat/completions',
    request: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Say hello' }] },
    response: wire.openaiChatStream(),
  });
  assert.equal(extractLlm(tx, { spec: ALL_ON })!.content, undefined);
  assert.deepEqual(extractLlm(tx, { spec: { ...ALL_ON, captureContent: true } })!.content, {
    prompt: 'Say hello',
    completion: 'Hello world',
  });
});

test('fuzz: random response bodies and events never throw', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 400 }),
      fc.constantFrom(
        '/v1/chat/completions',
        '/v1/messages',
        '/v1/responses',
        '/model/m/converse-stream',
        '/v1beta/models/g:streamGenerateContent',
      ),
      (text, path) => {
        extractLlm(httpTx({ host: 'api.anthropic.com', path, request: { model: 'm' }, response: text }));
        extractLlm(httpTx({ host: 'api.anthropic.com', path, request: text, response: Buffer.from(text) }));
      },
    ),
    { numRuns: 300 },
  );
});

const conn: ConnectionInfo = {
  id: 'c',
  client: { ip: '10.0.0.1', port: 5000 },
  server: { ip: '10.0.0.2', port: 443 },
  direction: 'outbound',
  midstream: false,
  tls: { decrypted: true, sni: 'api.openai.com', version: '1.3' },
};

function signal(): TransactionSignal {
  return {
    id: 'x',
    kind: 'transaction',
    timestamp: new Date(0).toISOString(),
    protocol: 'http',
    direction: 'outbound',
    source: conn.client,
    destination: conn.server,
    requestBytes: 0,
    responseBytes: 0,
    complete: true,
  };
}

test('enricher: fills signal.llm, rate-limit numbers in signal.metrics, and the metrics', async () => {
  const registry = new Registry();
  const metrics = registerLlmMetrics(registry);
  const enrich = llmEnricher({ llm: ALL_ON }, { metrics });
  const s = signal();
  enrich(
    httpTx({
      path: '/v1/chat/completions',
      request: { model: 'gpt-4o', messages: [] },
      responseHeaders: { 'x-ratelimit-remaining-requests': '499', 'x-ratelimit-remaining-tokens': '29000' },
      response: wire.openaiChat.body,
    }),
    conn,
    s,
  );
  assert.deepEqual(s.llm, {
    provider: 'openai',
    operation: 'chat',
    model: 'gpt-4o',
    stream: false,
    inputTokens: 1200,
    outputTokens: 42,
    cachedInputTokens: 1024,
    reasoningTokens: 0,
    toolCalls: ['get_weather'],
    finishReason: 'tool_calls',
  });
  assert.deepEqual(s.metrics, {
    llm_ratelimit_remaining_requests: 499,
    llm_ratelimit_remaining_tokens: 29000,
  });
  const text = await registry.metrics();
  assert.match(text, /axom_llm_tokens_total\{provider="openai",model="gpt-4o",type="input"\} 1200/);
  assert.match(text, /axom_llm_tokens_total\{provider="openai",model="gpt-4o",type="cached_input"\} 1024/);
  assert.match(
    text,
    /gen_ai_client_token_usage_bucket\{le="1024",gen_ai_provider_name="openai",gen_ai_system="openai",gen_ai_operation_name="chat",gen_ai_request_model="gpt-4o",gen_ai_response_model="gpt-4o-2024-08-06",gen_ai_token_type="input"\} 0/,
  );
  assert.match(text, /gen_ai_client_token_usage_bucket\{le="4096",.*gen_ai_token_type="input"\} 1/);
  assert.match(text, /gen_ai_client_operation_duration_seconds_bucket\{le="2.56",.*\} 1/);
  assert.match(text, /axom_llm_ratelimit_remaining\{provider="openai",model="gpt-4o",kind="requests"\} 499/);

  const off = llmEnricher({ llm: { ...ALL_ON, enabled: false } });
  const s2 = signal();
  off(
    httpTx({ path: '/v1/chat/completions', request: { model: 'gpt-4o' }, response: wire.openaiChat.body }),
    conn,
    s2,
  );
  assert.equal(s2.llm, undefined);
});

test('metrics: model label values are capped', async () => {
  const registry = new Registry();
  const metrics = registerLlmMetrics(registry, { maxModels: 2 });
  for (const model of ['a', 'b', 'c', 'd'])
    metrics.observe({ provider: 'openai', model, inputTokens: 1 }, 0.1);
  const text = await registry.metrics();
  assert.match(text, /axom_llm_tokens_total\{provider="openai",model="other",type="input"\} 2/);
});

test('metrics: provider error types are capped like models', async () => {
  const registry = new Registry();
  const metrics = registerLlmMetrics(registry);
  for (let i = 0; i < 100; i++) {
    metrics.observe({ provider: 'openai', model: 'm', error: { type: `odd_error_${i}` } } as never, 0.1);
  }
  const text = await registry.metrics();
  const types = new Set(
    [...text.matchAll(/axom_llm_requests_total\{[^}]*error_type="([^"]*)"/g)].map((m) => m[1]),
  );
  assert.equal(types.size, 33, 'the first 32 types and "other"');
  assert.ok(types.has('other'));
});
