/**
 * The sidecar's output contract (../shared/DESIGN.md, Signal). One object per observed
 * transaction or system sample; fields that do not apply are left out. The JSON Schema in
 * schemas/signal.schema.json describes exactly this shape and tests check every emitted
 * signal against it.
 */

export type ProtocolName = 'http' | 'http2' | 'grpc' | 'websocket' | 'postgres' | 'mysql' | 'tls';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface HttpInfo {
  method?: string;
  path?: string;
  host?: string;
  statusCode?: number;
  requestHeaders?: Record<string, string>;
  responseHeaders?: Record<string, string>;
}

export interface GrpcInfo {
  service?: string;
  method?: string;
  statusCode?: number;
  statusMessage?: string;
  requestMessages?: number;
  responseMessages?: number;
}

export interface WebSocketInfo {
  messagesSent?: number;
  messagesReceived?: number;
  closeCode?: number;
}

export interface DbInfo {
  system: 'postgresql' | 'mysql';
  statement?: string;
  operation?: string;
  table?: string;
  rows?: number;
  errorCode?: string;
  errorMessage?: string;
}

export interface TlsInfo {
  sni?: string;
  version?: string;
  decrypted: boolean;
}

export interface LlmInfo {
  provider: string;
  operation?: string;
  model?: string;
  stream?: boolean;
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  reasoningTokens?: number;
  toolCalls?: string[];
  finishReason?: string;
  timeToFirstTokenMs?: number;
  /**
   * Prompt and completion text: only with `llm.captureContent: true` in the policy, redacted,
   * at most LLM_CONTENT_MAX_BYTES of UTF-8 each. Not in DESIGN.md's signal (see docs/signals.md).
   */
  content?: LlmContent;
}

export interface LlmContent {
  prompt?: string;
  completion?: string;
}

/** Bound on each of `llm.content.prompt` and `llm.content.completion` (UTF-8 bytes). */
export const LLM_CONTENT_MAX_BYTES = 16 * 1024;

export interface McpInfo {
  method: string;
  tool?: string;
  sessionId?: string;
}

export interface Alert {
  rule: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
}

export interface PodRef {
  name: string;
  namespace: string;
}

interface SignalCommon {
  id: string;
  /** RFC 3339; for a transaction, when its request started. */
  timestamp: string;
  pod?: PodRef;
  policy?: string;
}

export interface TransactionSignal extends SignalCommon {
  kind: 'transaction';
  protocol: ProtocolName;
  direction: 'outbound' | 'inbound';
  source: Endpoint;
  destination: Endpoint & { host?: string };
  operation?: string;
  /** HTTP status code, gRPC status code, `ok`, or the SQLSTATE / MySQL error code. */
  status?: number | string;
  latencyMs?: number;
  requestBytes: number;
  responseBytes: number;
  complete: boolean;
  http?: HttpInfo;
  grpc?: GrpcInfo;
  websocket?: WebSocketInfo;
  db?: DbInfo;
  tls?: TlsInfo;
  llm?: LlmInfo;
  mcp?: McpInfo;
  metrics?: Record<string, number>;
  outcome?: 'success' | 'failure' | 'unknown';
  alerts?: Alert[];
}

export interface GpuSample {
  index: number;
  name?: string;
  utilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
}

export interface SystemSignal extends SignalCommon {
  kind: 'system';
  cpu?: { percent: number; cores?: number };
  memory?: { usedBytes: number; limitBytes?: number };
  gpu?: GpuSample[];
}

export type Signal = TransactionSignal | SystemSignal;
