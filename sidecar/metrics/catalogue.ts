/**
 * Every metric the sidecar exports, declared once: name, help, type, label names and
 * buckets, grouped by the stage that records it, in the order a packet meets the stages.
 * docs/metrics.md is the contract for these names. Stages take typed instruments from these
 * declarations (instruments.ts) and never declare their own; the one exception is the
 * `axom_rule_*` family, which the policy's rules declare at run time.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDef<T extends MetricType = MetricType, L extends string = string> {
  readonly type: T;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  /** Histograms only; ascending. */
  readonly buckets?: readonly number[];
}

export type CounterDef<L extends string = string> = MetricDef<'counter', L>;
export type GaugeDef<L extends string = string> = MetricDef<'gauge', L>;
export type HistogramDef<L extends string = string> = MetricDef<'histogram', L>;

const counter = <const L extends string = never>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): CounterDef<L> => ({ type: 'counter', name, help, labelNames });

const gauge = <const L extends string = never>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): GaugeDef<L> => ({ type: 'gauge', name, help, labelNames });

const histogram = <const L extends string = never>(
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: readonly number[],
): HistogramDef<L> => ({ type: 'histogram', name, help, labelNames, buckets });

// --- buckets ----------------------------------------------------------------------------------

/** Seconds; spans loopback calls to slow LLM completions. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** gen_ai.client.token.usage recommended buckets (OpenTelemetry GenAI metrics). */
export const TOKEN_USAGE_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
/** gen_ai.client.operation.duration recommended buckets, seconds. */
export const OPERATION_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** gen_ai.server.time_to_first_token recommended buckets, seconds. */
export const TIME_TO_FIRST_TOKEN_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
export const DB_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
export const GRPC_DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

// --- capture and pipeline (numbers the pipeline keeps, read at scrape time) -------------------

export const CAPTURE_METRICS = {
  kernelDrops: counter(
    'axom_capture_kernel_drops_total',
    'Packets the kernel dropped before capture saw them (buffer full).',
  ),
  packets: counter('axom_capture_packets_total', 'Packets handed to the pipeline.'),
  bytes: counter('axom_capture_bytes_total', 'Captured bytes handed to the pipeline.'),
  ignoredPackets: counter('axom_capture_ignored_packets_total', 'Packets that were not TCP over IPv4/IPv6.'),
  malformedPackets: counter(
    'axom_capture_malformed_packets_total',
    'Packets with truncated or inconsistent headers.',
  ),
  fragments: counter('axom_capture_ip_fragments_total', 'IP fragments (not reassembled).'),
};

export const PIPELINE_METRICS = {
  connectionsOpened: counter('axom_tcp_connections_opened_total', 'TCP connections seen.'),
  connectionsEvicted: counter(
    'axom_tcp_connections_evicted_total',
    'Connections evicted at the connection limit.',
  ),
  connectionsExpired: counter(
    'axom_tcp_connections_expired_total',
    'Connections closed after the idle timeout.',
  ),
  connectionsUndetected: counter(
    'axom_tcp_connections_undetected_total',
    'Connections whose protocol no parser recognized.',
  ),
  connectionsActive: gauge('axom_tcp_connections_active', 'TCP connections tracked now.'),
  gaps: counter('axom_reassembly_gaps_total', 'Holes in TCP streams (lost segments).'),
  gapBytes: counter('axom_reassembly_gap_bytes_total', 'Bytes lost in TCP stream holes.'),
  retransmittedBytes: counter('axom_reassembly_retransmitted_bytes_total', 'Retransmitted bytes ignored.'),
  bufferedBytes: gauge('axom_reassembly_buffered_bytes', 'Out-of-order bytes buffered now.'),
  transactions: counter('axom_transactions_total', 'Transactions the parsers emitted.'),
  internalErrors: counter(
    'axom_pipeline_internal_errors_total',
    'Parser or listener exceptions (bugs); the connection was dropped.',
  ),
  parseErrors: counter(
    'axom_parse_errors_total',
    'Messages a parser could not make sense of, by protocol and code.',
    ['protocol', 'code'],
  ),
  notParsed: counter(
    'axom_connections_not_parsed_total',
    'Connections recognized but not parsed from some point on (TLS or GSSAPI switch, MySQL compression, no parser for an upgrade), by protocol and reason.',
    ['protocol', 'reason'],
  ),
  droppedBytes: counter(
    'axom_dropped_bytes_total',
    'Bytes a bounded buffer dropped, by protocol and reason.',
    ['protocol', 'reason'],
  ),
  dropped: counter(
    'axom_dropped_total',
    'Times a bounded buffer, queue or table dropped something (a pipelined request, a stream, a statement, bytes), by protocol and reason.',
    ['protocol', 'reason'],
  ),
};

/** TLS decryption; key material never reaches a label: labels are outcomes and reasons only. */
export const TLS_METRICS = {
  connections: counter(
    'axom_tls_connections_total',
    'TLS connections seen, by what decryption made of them',
    ['outcome'],
  ),
  records: counter('axom_tls_records_total', 'Protected TLS records, by whether they decrypted', ['result']),
  decryptedBytes: counter('axom_tls_decrypted_bytes_total', 'Plaintext bytes recovered from TLS'),
  droppedBytes: counter('axom_tls_dropped_bytes_total', 'Bytes the TLS layer had to drop, by reason', [
    'reason',
  ]),
  keyUpdates: counter('axom_tls_key_updates_total', 'TLS 1.3 KeyUpdate messages followed'),
  innerProtocolUnknown: counter(
    'axom_tls_inner_protocol_unknown_total',
    'Decrypted streams no parser recognised',
  ),
  keyLogLines: counter(
    'axom_tls_keylog_lines_total',
    'Key log lines read, by result (ok, or why a line was unusable)',
    ['result'],
  ),
  keyLogEvents: counter(
    'axom_tls_keylog_events_total',
    'Key log housekeeping: secrets evicted unused or released at connection end, file reopened, waits',
    ['event'],
  ),
};

// --- enrich -------------------------------------------------------------------------------------

export const ENRICH_METRICS = {
  errors: counter(
    'axom_enricher_errors_total',
    'Exceptions thrown by enrichers (the signal is still emitted).',
  ),
};

const GEN_AI_LABELS = [
  'gen_ai_provider_name',
  'gen_ai_system',
  'gen_ai_operation_name',
  'gen_ai_request_model',
  'gen_ai_response_model',
] as const;

/** LLM usage; the `gen_ai_client_*` histograms are the OpenTelemetry GenAI ones under their Prometheus names. */
export const LLM_METRICS = {
  tokens: counter(
    'axom_llm_tokens_total',
    'LLM tokens by provider, model and type (input, output, cached_input, cache_creation, reasoning)',
    ['provider', 'model', 'type'],
  ),
  requests: counter(
    'axom_llm_requests_total',
    'LLM API calls by provider, model, operation and whether they failed',
    ['provider', 'model', 'operation', 'stream', 'error_type'],
  ),
  tokenUsage: histogram(
    'gen_ai_client_token_usage',
    'Number of input and output tokens used, per call (OpenTelemetry gen_ai.client.token.usage)',
    [...GEN_AI_LABELS, 'gen_ai_token_type'],
    TOKEN_USAGE_BUCKETS,
  ),
  operationDuration: histogram(
    'gen_ai_client_operation_duration_seconds',
    'GenAI operation duration (OpenTelemetry gen_ai.client.operation.duration)',
    [...GEN_AI_LABELS, 'error_type'],
    OPERATION_DURATION_BUCKETS,
  ),
  timeToFirstToken: histogram(
    'axom_llm_time_to_first_token_seconds',
    'Time from the request to the first streamed token',
    ['provider', 'model', 'operation'],
    TIME_TO_FIRST_TOKEN_BUCKETS,
  ),
  rateLimitRemaining: gauge(
    'axom_llm_ratelimit_remaining',
    'Rate-limit headroom the provider last reported (requests or tokens left in the window)',
    ['provider', 'model', 'kind'],
  ),
};

export const MCP_METRICS = {
  toolCalls: counter(
    'axom_mcp_tool_calls_total',
    'MCP tools/call requests by tool and result (ok, error: JSON-RPC error, tool_error: isError result)',
    ['tool', 'result'],
  ),
  requests: counter('axom_mcp_requests_total', 'MCP JSON-RPC requests by method and result', [
    'method',
    'result',
  ]),
};

export const DB_METRICS = {
  operations: counter(
    'axom_db_client_operations_total',
    'Database statements observed, by system, operation, normalized statement and status (ok or the error code).',
    ['system', 'operation', 'statement', 'status'],
  ),
  duration: histogram(
    'axom_db_client_operation_duration_seconds',
    'Database statement latency, first request byte to last response byte.',
    ['system', 'operation'],
    DB_DURATION_BUCKETS,
  ),
  errors: counter(
    'axom_db_client_errors_total',
    'Database errors by system and code (SQLSTATE or MySQL error number).',
    ['system', 'code'],
  ),
  rows: counter('axom_db_client_rows_total', 'Rows returned or affected, by system and operation.', [
    'system',
    'operation',
  ]),
};

export const GRPC_METRICS = {
  calls: counter(
    'axom_grpc_client_calls_total',
    'gRPC calls by service, method and status (code number and name).',
    ['service', 'method', 'code', 'status'],
  ),
  duration: histogram(
    'axom_grpc_client_call_duration_seconds',
    'gRPC call latency, first request byte to last response byte.',
    ['service', 'method'],
    GRPC_DURATION_BUCKETS,
  ),
  messages: counter(
    'axom_grpc_client_messages_total',
    'gRPC messages by service, method and direction (sent = request, received = response).',
    ['service', 'method', 'direction'],
  ),
};

// --- rules --------------------------------------------------------------------------------------

export const RULES_METRICS = {
  reloads: counter('axom_rules_reload_total', 'Rules file loads, by result.', ['result']),
  reloadErrors: counter(
    'axom_rules_reload_errors_total',
    'Rules file reloads that failed; the last good rules stayed in force.',
  ),
  errors: counter(
    'axom_rules_errors_total',
    'Exceptions thrown while applying rules (the signal is still emitted).',
  ),
  alerts: counter('axom_alerts_total', 'Alerts raised by rules.', ['rule', 'alert', 'severity']),
  seriesOverflow: counter(
    'axom_rule_series_overflow_total',
    'Rule metric values recorded under `other` because the metric already held its maximum of label sets.',
    ['metric'],
  ),
};

// --- sinks --------------------------------------------------------------------------------------

/** Recorded by the Prometheus sink from each signal it receives. */
export const SIGNAL_METRICS = {
  requests: counter('axom_requests_total', 'Transactions observed, by protocol, direction and outcome.', [
    'protocol',
    'direction',
    'outcome',
  ]),
  duration: histogram(
    'axom_request_duration_seconds',
    'Transaction latency from the first request byte to the last response byte.',
    ['protocol', 'direction'],
    LATENCY_BUCKETS,
  ),
  incomplete: counter(
    'axom_requests_incomplete_total',
    'Transactions the capture saw only part of (complete: false).',
    ['protocol'],
  ),
  signals: counter('axom_signals_total', 'Signals emitted, by kind.', ['kind']),
};

export const SYSTEM_METRICS = {
  cpuPercent: gauge('axom_system_cpu_percent', 'CPU used, percent of the cores available.'),
  cpuCores: gauge('axom_system_cpu_cores', 'Cores available (cgroup quota or host).'),
  memoryUsed: gauge('axom_system_memory_used_bytes', 'Memory used.'),
  memoryLimit: gauge('axom_system_memory_limit_bytes', 'Memory limit (cgroup or host).'),
  gpuUtilization: gauge('axom_system_gpu_utilization_percent', 'GPU utilization.', ['gpu', 'name']),
  gpuMemoryUsed: gauge('axom_system_gpu_memory_used_bytes', 'GPU memory used.', ['gpu', 'name']),
  gpuMemoryTotal: gauge('axom_system_gpu_memory_total_bytes', 'GPU memory in total.', ['gpu', 'name']),
};

/** `--output ndjson`. */
export const OUTPUT_METRICS = {
  lines: counter('axom_output_lines_total', 'Signals written to stdout.'),
  dropped: counter(
    'axom_output_dropped_total',
    'Signals not written to stdout because its reader fell behind.',
  ),
};

/** The batched exporter: what every exporter of this process (those a reload retired included) did. */
export const EXPORTER_METRICS = {
  queued: gauge('axom_exporter_queue_signals', 'Signals waiting to be exported.'),
  enqueued: counter('axom_exporter_enqueued_total', 'Signals handed to the exporter.'),
  sentSignals: counter('axom_exporter_sent_signals_total', 'Signals the backend accepted.'),
  sentBatches: counter('axom_exporter_sent_batches_total', 'Batches the backend accepted.'),
  sentBytes: counter(
    'axom_exporter_sent_bytes_total',
    'Request body bytes (compressed) the backend accepted.',
  ),
  retries: counter('axom_exporter_retries_total', 'Batches scheduled for another attempt.'),
  failures: counter('axom_exporter_failures_total', 'Export requests that failed, by reason.', ['reason']),
  dropped: counter(
    'axom_exporter_dropped_signals_total',
    'Signals dropped, by reason: queue_full (oldest first), rejected (4xx), shutdown.',
    ['reason'],
  ),
};

/** Every declaration above, for checks and documentation. */
export const CATALOGUE: readonly MetricDef[] = [
  CAPTURE_METRICS,
  PIPELINE_METRICS,
  TLS_METRICS,
  ENRICH_METRICS,
  LLM_METRICS,
  MCP_METRICS,
  DB_METRICS,
  GRPC_METRICS,
  RULES_METRICS,
  SIGNAL_METRICS,
  SYSTEM_METRICS,
  OUTPUT_METRICS,
  EXPORTER_METRICS,
].flatMap((group): MetricDef[] => Object.values(group));
