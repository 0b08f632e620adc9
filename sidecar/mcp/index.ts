/**
 * MCP over Streamable HTTP (JSON-RPC 2.0 POSTed to the server's endpoint, answered with
 * JSON or an SSE stream): the method, the tool a `tools/call` names, the Mcp-Session-Id, and
 * JSON-RPC errors. `mcpEnricher(rules)` fills the signal's `mcp` object.
 */
import type { RulesFile } from '../../lib/policy/types.ts';
import { type Json, obj, parseJson, str } from '../llm/json.ts';
import type { LlmMetrics } from '../llm/metrics.ts';
import { responseEvents } from '../llm/sse.ts';
import type { ConnectionInfo, Transaction } from '../protocols/types.ts';
import type { McpInfo, TransactionSignal } from '../signal/types.ts';

export const MCP_SESSION_HEADER = 'mcp-session-id';

export interface McpResult {
  info: McpInfo;
  /** The JSON-RPC request id (to pair with the answer in an SSE stream). */
  id?: string | number;
  /** JSON-RPC error code of the answer. */
  errorCode?: number;
  errorMessage?: string;
  /** A tools/call result with `isError: true` (the tool failed, the protocol did not). */
  toolError?: boolean;
}

function isJsonRpcRequest(v: Json | undefined): boolean {
  const o = obj(v);
  return o !== undefined && o.jsonrpc === '2.0' && typeof o.method === 'string';
}

/** Finds the answer to request `id` in a JSON body (object or batch) or SSE events. */
function findAnswer(tx: Transaction, id: string | number | undefined): Record<string, Json> | undefined {
  const candidates: Json[] = [];
  const events = responseEvents(tx.response);
  if (events !== undefined) {
    for (const e of events) {
      const d = parseJson(e.data);
      if (Array.isArray(d)) candidates.push(...d);
      else if (d !== undefined) candidates.push(d);
    }
  } else if (tx.response?.body !== undefined) {
    const d = parseJson(tx.response.body);
    if (Array.isArray(d)) candidates.push(...d);
    else if (d !== undefined) candidates.push(d);
  }
  for (const c of candidates) {
    const o = obj(c);
    if (o === undefined || o.jsonrpc !== '2.0' || !('result' in o || 'error' in o)) continue;
    if (id === undefined || o.id === id) return o;
  }
  return undefined;
}

export function extractMcp(tx: Transaction): McpResult | undefined {
  const http = tx.http;
  if (http === undefined || (http.method ?? '').toUpperCase() !== 'POST') return undefined;
  const body = tx.request?.body;
  if (body === undefined || body.length === 0) return undefined;
  // Cheap check first: most POST bodies are not JSON-RPC.
  if (body.indexOf('"jsonrpc"') < 0) return undefined;
  const parsed = parseJson(body);
  const first = Array.isArray(parsed) ? parsed.find(isJsonRpcRequest) : parsed;
  if (!isJsonRpcRequest(first)) return undefined;
  const req = obj(first)!;
  const method = req.method as string;
  const info: McpInfo = { method };
  if (method === 'tools/call') {
    const name = str(obj(req.params)?.name);
    if (name !== undefined) info.tool = name;
  }
  const session = tx.request?.headers?.[MCP_SESSION_HEADER] ?? tx.response?.headers?.[MCP_SESSION_HEADER];
  if (session !== undefined && session !== '') info.sessionId = session;
  const result: McpResult = { info };
  const id = typeof req.id === 'string' || typeof req.id === 'number' ? req.id : undefined;
  if (id !== undefined) result.id = id;
  const answer = findAnswer(tx, id);
  const err = obj(answer?.error);
  if (err !== undefined) {
    if (typeof err.code === 'number') result.errorCode = err.code;
    const msg = str(err.message);
    if (msg !== undefined) result.errorMessage = msg;
  } else if (obj(answer?.result)?.isError === true) {
    result.toolError = true;
  }
  return result;
}

export type Enricher = (tx: Transaction, conn: ConnectionInfo, signal: TransactionSignal) => void;

export function mcpEnricher(rules: Pick<RulesFile, 'llm'>, options: { metrics?: LlmMetrics } = {}): Enricher {
  const enabled = rules.llm.mcp;
  return (tx, _conn, signal) => {
    if (!enabled) return;
    const r = extractMcp(tx);
    if (r === undefined) return;
    signal.mcp = r.info;
    if (r.errorCode !== undefined) {
      signal.metrics ??= {};
      signal.metrics.mcp_error_code = r.errorCode;
      signal.outcome = 'failure';
    } else if (r.toolError === true) {
      signal.metrics ??= {};
      signal.metrics.mcp_tool_error = 1;
    }
    options.metrics?.observeMcp(r.info, r.errorCode ?? (r.toolError === true ? 'tool' : undefined));
  };
}
