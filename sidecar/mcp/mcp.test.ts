import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { registerLlmMetrics } from '../llm/metrics.ts';
import { httpTx } from '../llm/testdata/tx.ts';
import { sse } from '../llm/testdata/wire.ts';
import type { ConnectionInfo } from '../protocols/types.ts';
import type { TransactionSignal } from '../signal/types.ts';
import { extractMcp, mcpEnricher } from './index.ts';

const call = {
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params: { name: 'search_repos', arguments: { q: 'axom' } },
};

test('tools/call answered with JSON: method, tool, session id', () => {
  const r = extractMcp(
    httpTx({
      host: 'mcp.internal',
      path: '/mcp',
      requestHeaders: { 'mcp-session-id': 'sess-123', accept: 'application/json, text/event-stream' },
      request: call,
      response: {
        jsonrpc: '2.0',
        id: 7,
        result: { content: [{ type: 'text', text: 'ok' }], isError: false },
      },
    }),
  )!;
  assert.deepEqual(r.info, { method: 'tools/call', tool: 'search_repos', sessionId: 'sess-123' });
  assert.equal(r.errorCode, undefined);
  assert.equal(r.toolError, undefined);
});

test('initialize: the session id comes from the response header', () => {
  const r = extractMcp(
    httpTx({
      path: '/mcp',
      request: {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
      },
      responseHeaders: { 'mcp-session-id': 'new-session' },
      response: {
        jsonrpc: '2.0',
        id: 1,
        result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } },
      },
    }),
  )!;
  assert.deepEqual(r.info, { method: 'initialize', sessionId: 'new-session' });
});

test('SSE answer: notifications first, then the error for our id', () => {
  const r = extractMcp(
    httpTx({
      path: '/mcp',
      request: call,
      response: sse([
        {
          event: 'message',
          data: { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } },
        },
        {
          event: 'message',
          data: { jsonrpc: '2.0', id: 7, error: { code: -32602, message: 'Unknown tool' } },
        },
      ]),
    }),
  )!;
  assert.equal(r.info.tool, 'search_repos');
  assert.equal(r.errorCode, -32602);
  assert.equal(r.errorMessage, 'Unknown tool');
});

test('a tool result with isError, notifications without an answer, non-MCP JSON', () => {
  const r = extractMcp(
    httpTx({
      path: '/mcp',
      request: call,
      response: { jsonrpc: '2.0', id: 7, result: { content: [], isError: true } },
    }),
  )!;
  assert.equal(r.toolError, true);
  const n = extractMcp(
    httpTx({ path: '/mcp', request: { jsonrpc: '2.0', method: 'notifications/initialized' }, status: 202 }),
  )!;
  assert.deepEqual(n.info, { method: 'notifications/initialized' });
  assert.equal(
    extractMcp(httpTx({ path: '/v1/chat/completions', request: { model: 'x', messages: [] } })),
    undefined,
  );
  assert.equal(extractMcp(httpTx({ path: '/rpc', request: '{"jsonrpc": broken' })), undefined);
});

test('enricher: signal.mcp, error code in metrics, axom_mcp_tool_calls_total', async () => {
  const registry = new Registry();
  const metrics = registerLlmMetrics(registry);
  const enrich = mcpEnricher(
    {
      llm: {
        enabled: true,
        mcp: true,
        captureContent: false,
        providers: { openai: true, anthropic: true, bedrock: true, gemini: true, openaiCompatible: true },
      },
    },
    { metrics },
  );
  const conn = {
    id: 'c',
    client: { ip: '1.1.1.1', port: 1 },
    server: { ip: '2.2.2.2', port: 2 },
    direction: 'outbound',
    midstream: false,
  } satisfies ConnectionInfo;
  const s = { kind: 'transaction', protocol: 'http' } as TransactionSignal;
  enrich(
    httpTx({ path: '/mcp', request: call, response: { jsonrpc: '2.0', id: 7, result: { content: [] } } }),
    conn,
    s,
  );
  assert.deepEqual(s.mcp, { method: 'tools/call', tool: 'search_repos' });
  const s2 = { kind: 'transaction', protocol: 'http' } as TransactionSignal;
  enrich(
    httpTx({
      path: '/mcp',
      request: call,
      response: { jsonrpc: '2.0', id: 7, error: { code: -32603, message: 'x' } },
    }),
    conn,
    s2,
  );
  assert.equal(s2.metrics?.mcp_error_code, -32603);
  const text = await registry.metrics();
  assert.match(text, /axom_mcp_tool_calls_total\{tool="search_repos",result="ok"\} 1/);
  assert.match(text, /axom_mcp_tool_calls_total\{tool="search_repos",result="error"\} 1/);
});
