/**
 * The one source of the ObservationPolicy and rules.yaml schemas.
 *
 * Written in the structural subset of JSON Schema that Kubernetes accepts (no $ref, every
 * node typed, defaults inline), so the same objects become the CRD's openAPIV3Schema
 * (scripts/generate.ts writes crds/observationpolicy.yaml) and drive ajv in the operator,
 * the webhook and the sidecar. Cross-field rules are CEL `x-kubernetes-validations`: the API
 * server enforces them, and lib/policy/validate.ts evaluates the very same expressions for
 * rules.yaml, so there is one rule in one place.
 */

type Schema = Record<string, unknown>;

const PROTOCOLS = ['http', 'http2', 'grpc', 'websocket', 'postgres', 'mysql', 'tls'] as const;
export const PROTOCOL_NAMES: readonly string[] = PROTOCOLS;
export const LLM_PROVIDERS = ['openai', 'anthropic', 'bedrock', 'gemini', 'openaiCompatible'] as const;

/** A metric or rule name: Prometheus-safe, so it can be used as is. */
const NAME_PATTERN = '^[a-zA-Z_][a-zA-Z0-9_]*$';
/** Status selector: a class (`5xx`), an HTTP/gRPC code (`404`, `14`), `ok`, or a SQLSTATE / MySQL code. */
const STATUS_PATTERN = '^([1-5]xx|[0-9A-Za-z]{1,5})$';

const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const int = (description: string, extra: Schema = {}): Schema => ({ type: 'integer', description, ...extra });
const bool = (description: string, dflt: boolean): Schema => ({
  type: 'boolean',
  description,
  default: dflt,
});
const list = (items: Schema, description: string, extra: Schema = {}): Schema => ({
  type: 'array',
  description,
  items,
  ...extra,
});
const obj = (properties: Record<string, Schema>, description: string, extra: Schema = {}): Schema => ({
  type: 'object',
  description,
  properties,
  additionalProperties: false,
  ...extra,
});
/** An object whose every field has a default: `default: {}` lets Kubernetes fill them in. */
const defaultedObj = (properties: Record<string, Schema>, description: string, extra: Schema = {}): Schema =>
  obj(properties, description, { default: {}, ...extra });
const cel = (rule: string, message: string): Schema => ({ rule, message });

// --- selector ---------------------------------------------------------------------------------

const selectorSchema = obj(
  {
    matchLabels: {
      type: 'object',
      description: 'Pods whose labels include all of these.',
      additionalProperties: { type: 'string' },
    },
    matchExpressions: list(
      obj(
        {
          key: str('Label key.', { maxLength: 317 }),
          operator: str('How the key relates to the values.', {
            enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
          }),
          values: list({ type: 'string' }, 'Values for In and NotIn.', { maxItems: 64 }),
        },
        'A label selector requirement.',
        {
          required: ['key', 'operator'],
          'x-kubernetes-validations': [
            cel(
              "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
              'In and NotIn need values; Exists and DoesNotExist take none',
            ),
          ],
        },
      ),
      'Label selector requirements, all of which must hold.',
      { maxItems: 32 },
    ),
  },
  "Which pods of the policy's namespace this policy applies to, when a pod does not name a policy in its observer.axom.ai/policy annotation. An empty selector matches every pod.",
);

// --- capture ---------------------------------------------------------------------------------

const captureProperties: Record<string, Schema> = {
  interfaces: list(str('Interface name, or "any".', { maxLength: 64 }), 'Interfaces to capture on.', {
    default: ['any'],
    minItems: 1,
    maxItems: 16,
  }),
  bpfFilter: str('Extra BPF filter, compiled into the kernel and ANDed with tcp.', { maxLength: 4096 }),
  snapLength: int('Bytes kept of each packet.', { default: 262144, minimum: 256, maximum: 262144 }),
  // 64 MiB: libpcap's immediate mode (which cap uses) gives every packet a snaplen-sized
  // slot, so 16 MiB held only ~250 packets on loopback and dropped under bursts (docs/benchmarks.md).
  bufferSizeMiB: int('Kernel capture buffer.', { default: 64, minimum: 1, maximum: 1024 }),
  maxBodyBytes: int('Bytes of each request or response body kept for rules and LLM metering.', {
    default: 1048576,
    minimum: 0,
    maximum: 67108864,
  }),
  connectionBufferBytes: int('Reassembly buffer per connection and direction.', {
    default: 4194304,
    minimum: 65536,
    maximum: 268435456,
  }),
  totalBufferBytes: int('Reassembly buffers of all connections together.', {
    default: 134217728,
    minimum: 1048576,
    maximum: 4294967296,
  }),
  idleTimeoutSeconds: int('A connection with no packets for this long is closed.', {
    default: 300,
    minimum: 1,
    maximum: 86400,
  }),
};

const captureSpecSchema = defaultedObj(captureProperties, 'What the sidecar captures and how much it keeps.');

const captureRulesSchema = defaultedObj(
  {
    ...captureProperties,
    tlsKeyLog: obj(
      {
        path: str('NSS key log file the app writes.', { minLength: 1 }),
        waitMs: int('How long to wait for keys that arrive after their packets.', {
          default: 2000,
          minimum: 0,
          maximum: 60000,
        }),
      },
      'Decrypt TLS with the key log the application writes (present when the policy enables it).',
      { required: ['path'] },
    ),
  },
  'What the sidecar captures and how much it keeps.',
);

// --- protocols ---------------------------------------------------------------------------------

const protocolToggle = (name: string): Schema =>
  defaultedObj(
    {
      enabled: bool(`Parse ${name}.`, true),
      ports: list(
        int('Port.', { minimum: 1, maximum: 65535 }),
        'Ports tried first; detection is by content.',
        {
          maxItems: 64,
        },
      ),
    },
    `${name} parsing.`,
  );

const websocketToggle = protocolToggle('websocket');
(websocketToggle.properties as Record<string, Schema>).messages = bool(
  'Also emit one signal per WebSocket message (besides the one per connection).',
  false,
);

const protocolsSchema = defaultedObj(
  Object.fromEntries(PROTOCOLS.map((p) => [p, p === 'websocket' ? websocketToggle : protocolToggle(p)])),
  'Protocol parsers to enable; ports are hints, detection is by content.',
);

// --- redaction -----------------------------------------------------------------------------------

const redactionSchema = defaultedObj(
  {
    headers: list(
      str('Header name, case-insensitive.', { maxLength: 256 }),
      'Header values to redact, in addition to the built-in authorization, proxy-authorization, x-api-key, api-key, cookie and set-cookie.',
      {
        default: [],
        maxItems: 128,
      },
    ),
    jsonFields: list(
      str('JSON field name, matched at any depth, case-insensitive.', { maxLength: 256 }),
      'JSON body fields whose values are redacted.',
      {
        default: [],
        maxItems: 128,
      },
    ),
    patterns: list(
      obj(
        {
          name: str('Name of the pattern.', { pattern: NAME_PATTERN, maxLength: 63 }),
          regex: str('JavaScript regular expression.', { minLength: 1, maxLength: 1024 }),
          replacement: str('Replacement text.', { default: '[REDACTED]', maxLength: 256 }),
        },
        'A pattern replaced wherever it appears, in addition to the built-in key-like strings.',
        { required: ['name', 'regex'] },
      ),
      'Extra patterns to redact.',
      { default: [], maxItems: 64, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
    sql: str('SQL statements as normalized text (literals become placeholders) or in full.', {
      enum: ['normalized', 'full'],
      default: 'normalized',
    }),
  },
  'What is removed before anything leaves the sidecar.',
);

// --- rules ---------------------------------------------------------------------------------------

const matchSchema = obj(
  {
    protocols: list(str('Protocol.', { enum: [...PROTOCOLS] }), 'Any of these protocols.', { maxItems: 8 }),
    methods: list(
      str('Method, case-insensitive.', { maxLength: 32 }),
      'Any of these HTTP methods (or SQL operations).',
      {
        maxItems: 16,
      },
    ),
    host: str('Regular expression on the destination host.', { maxLength: 1024 }),
    path: str('Regular expression on the HTTP path or gRPC /service/method.', { maxLength: 1024 }),
    status: list(
      str('Status class or code.', { pattern: STATUS_PATTERN }),
      'Any of these statuses: 2xx, 404, 14, ok, 23505.',
      {
        maxItems: 32,
      },
    ),
    direction: str('Seen from the pod.', { enum: ['outbound', 'inbound'] }),
  },
  'Which transactions the rule applies to; every field given must match. Empty matches all.',
  { default: {} },
);

const extractSchema = obj(
  {
    metric: str('Metric name (exported as axom_rule_<metric>).', { pattern: NAME_PATTERN, maxLength: 100 }),
    type: str('Prometheus metric type.', { enum: ['counter', 'gauge', 'histogram'], default: 'counter' }),
    help: str('Help text of the metric.', { maxLength: 512 }),
    // No schema default: it depends on the value kind (responseBody for jsonPath and regex,
    // responseHeaders for header), which the rules engine resolves.
    source: str('Where the value is read; defaults to responseHeaders for header, else responseBody.', {
      enum: ['requestBody', 'responseBody', 'requestHeaders', 'responseHeaders'],
    }),
    jsonPath: str('JSONPath into the JSON body, e.g. $.usage.total_tokens.', { maxLength: 512 }),
    header: str('Header whose value is a number.', { maxLength: 256 }),
    regex: str('Regular expression; its first capture group is the number.', { maxLength: 1024 }),
    labels: {
      type: 'object',
      description: 'Label name to signal field, e.g. {model: llm.model, host: destination.host}.',
      additionalProperties: { type: 'string', maxLength: 128 },
      maxProperties: 8,
    },
    buckets: list({ type: 'number' }, 'Histogram buckets.', { minItems: 1, maxItems: 64 }),
  },
  'A number pulled from each matching transaction. Without jsonPath, header or regex a counter counts matches.',
  {
    required: ['metric'],
    'x-kubernetes-validations': [
      cel(
        '(has(self.jsonPath) ? 1 : 0) + (has(self.header) ? 1 : 0) + (has(self.regex) ? 1 : 0) <= 1',
        'set at most one of jsonPath, header and regex',
      ),
      cel(
        "has(self.jsonPath) || has(self.header) || has(self.regex) || !has(self.type) || self.type == 'counter'",
        'gauges and histograms need a value: set jsonPath, header or regex',
      ),
      cel(
        "!has(self.buckets) || (has(self.type) && self.type == 'histogram')",
        'buckets are only for histograms',
      ),
      cel(
        "!has(self.header) || !has(self.source) || self.source in ['requestHeaders', 'responseHeaders']",
        'header needs source requestHeaders or responseHeaders',
      ),
      cel(
        "!has(self.jsonPath) || !has(self.source) || self.source in ['requestBody', 'responseBody']",
        'jsonPath needs source requestBody or responseBody',
      ),
    ],
  },
);

const outcomeWhen = (which: string): Schema =>
  obj(
    {
      status: list(
        str('Status class or code.', { pattern: STATUS_PATTERN }),
        `Statuses that mean ${which}.`,
        {
          maxItems: 32,
        },
      ),
      bodyRegex: str(`Regular expression on the response body that means ${which}.`, { maxLength: 1024 }),
    },
    `When a transaction counts as a ${which}.`,
  );

const outcomeSchema = obj(
  { failure: outcomeWhen('failure'), success: outcomeWhen('success') },
  'How to judge a transaction; failure is checked first. Without it: HTTP 1xx-3xx, gRPC 0 and SQL ok are successes.',
);

const alertSchema = obj(
  {
    name: str('Alert name.', { pattern: NAME_PATTERN, maxLength: 63 }),
    severity: str('Severity.', { enum: ['info', 'warning', 'critical'], default: 'warning' }),
    condition: str('CEL expression over `signal`, e.g. signal.latencyMs > 2000.0.', {
      minLength: 1,
      maxLength: 2048,
    }),
    message: str('Text of the alert.', { maxLength: 1024 }),
  },
  'An alert attached to the signal when its condition holds.',
  { required: ['name', 'condition'] },
);

const ruleSchema = obj(
  {
    name: str('Rule name, unique in the policy.', { pattern: NAME_PATTERN, maxLength: 63 }),
    match: matchSchema,
    extract: list(extractSchema, 'Metrics to extract.', { maxItems: 32 }),
    outcome: outcomeSchema,
    alerts: list(alertSchema, 'Alerts.', {
      maxItems: 16,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
  },
  'Match transactions, extract metrics, judge the outcome and raise alerts.',
  { required: ['name'] },
);

/** The rules list, shared verbatim by the CRD and rules.yaml. */
export const rulesSchema: Schema = list(ruleSchema, 'Rules applied to every transaction, in order.', {
  default: [],
  maxItems: 100,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['name'],
});

// --- llm, system ---------------------------------------------------------------------------------

const llmSchema = defaultedObj(
  {
    enabled: bool('Detect LLM API calls and meter their usage.', true),
    providers: defaultedObj(
      Object.fromEntries(LLM_PROVIDERS.map((p) => [p, bool(`Detect ${p}.`, true)])),
      'Built-in providers, each switchable.',
    ),
    mcp: bool('Detect MCP (JSON-RPC over Streamable HTTP) tool calls.', true),
    captureContent: bool('Keep prompt and completion text in signals (redaction still applies).', false),
  },
  'Built-in LLM and MCP usage metering.',
);

const systemSchema = defaultedObj(
  {
    enabled: bool('Sample CPU, memory and GPU.', true),
    intervalSeconds: int('Seconds between samples.', { default: 15, minimum: 1, maximum: 3600 }),
    gpu: bool('Sample NVIDIA GPUs when present.', true),
  },
  'System samples.',
);

// --- export ----------------------------------------------------------------------------------------

const exportProperties: Record<string, Schema> = {
  enabled: bool('Send signals to a backend.', false),
  backendUrl: str('Backend URL that receives batches (POST).', { pattern: '^https?://', maxLength: 2048 }),
  format: str('Body of each batch.', { enum: ['json', 'ndjson'], default: 'json' }),
  batchSize: int('Signals per batch.', { default: 500, minimum: 1, maximum: 10000 }),
  flushIntervalSeconds: int('Longest wait before a partial batch is sent.', {
    default: 5,
    minimum: 1,
    maximum: 3600,
  }),
  maxQueueSize: int('Signals held while the backend is slow or down; the oldest are dropped beyond it.', {
    default: 10000,
    minimum: 1,
    maximum: 1000000,
  }),
  timeoutSeconds: int('Timeout of one request.', { default: 10, minimum: 1, maximum: 300 }),
  compression: str('Request body compression.', { enum: ['gzip', 'none'], default: 'gzip' }),
};
const exportNeedsUrl = cel(
  '!has(self.enabled) || !self.enabled || has(self.backendUrl)',
  'export.enabled needs backendUrl',
);

const exportSpecSchema = defaultedObj(
  {
    ...exportProperties,
    apiKey: defaultedObj(
      {
        source: str(
          "Secret: secretRef names a Secret in the policy's namespace. Central: the operator's central Secret. None: no key.",
          { enum: ['Secret', 'Central', 'None'], default: 'Central' },
        ),
        secretRef: obj(
          {
            name: str('Secret name.', { minLength: 1, maxLength: 253 }),
            key: str('Key in the Secret.', { default: 'api-key', maxLength: 253 }),
          },
          "A Secret in the policy's namespace.",
          { required: ['name'] },
        ),
      },
      'Where the API key comes from. The key itself never appears in a policy.',
      {
        'x-kubernetes-validations': [
          cel(
            "!has(self.source) || self.source != 'Secret' || has(self.secretRef)",
            'apiKey.source Secret needs secretRef',
          ),
          cel(
            "self.source == 'Secret' || !has(self.secretRef)",
            'apiKey.secretRef is only for source Secret',
          ),
        ],
      },
    ),
  },
  'Batched export of signals to a backend.',
  { 'x-kubernetes-validations': [exportNeedsUrl] },
);

const exportRulesSchema = defaultedObj(
  {
    ...exportProperties,
    apiKeyFile: str('File holding the API key (mounted from the rendered Secret).', { maxLength: 1024 }),
  },
  'Batched export of signals to a backend.',
  { 'x-kubernetes-validations': [exportNeedsUrl] },
);

// --- sidecar overrides ------------------------------------------------------------------------------

// Structural schemas allow only bare types inside anyOf, so the pattern sits beside it
// (patterns apply to strings only, as Kubernetes' own Quantity schema does).
const quantity: Schema = {
  'x-kubernetes-int-or-string': true,
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$',
};
const resourceList = (description: string): Schema => obj({ cpu: quantity, memory: quantity }, description);

const sidecarSchema = defaultedObj(
  {
    image: str('Sidecar image; defaults to the operator setting.', { maxLength: 512 }),
    imagePullPolicy: str('Image pull policy.', { enum: ['Always', 'IfNotPresent', 'Never'] }),
    resources: obj(
      { requests: resourceList('Requests.'), limits: resourceList('Limits.') },
      'Sidecar resources; defaults to the operator setting.',
    ),
    nativeSidecar: str(
      'Run as a native sidecar (an init container with restartPolicy Always, Kubernetes 1.29+), so Jobs finish.',
      { enum: ['auto', 'always', 'never'], default: 'auto' },
    ),
    tlsKeyLog: bool(
      "Have the app's TLS library write its session keys to an in-memory volume shared with the sidecar, so HTTPS can be decrypted.",
      false,
    ),
  },
  'Overrides for the injected sidecar container.',
);

// --- whole documents --------------------------------------------------------------------------------

export const policySpecSchema: Schema = {
  type: 'object',
  description: 'What to observe in the pods this policy applies to.',
  additionalProperties: false,
  properties: {
    selector: selectorSchema,
    capture: captureSpecSchema,
    protocols: protocolsSchema,
    redaction: redactionSchema,
    rules: rulesSchema,
    llm: llmSchema,
    export: exportSpecSchema,
    system: systemSchema,
    sidecar: sidecarSchema,
  },
};

const conditionSchema = obj(
  {
    type: str('Ready, RulesValid or SecretReady.', { maxLength: 316 }),
    status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
    reason: str('CamelCase reason.', { maxLength: 1024 }),
    message: str('Human-readable message.', { maxLength: 32768 }),
    lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
    observedGeneration: int('Generation the condition was computed from.', { format: 'int64', minimum: 0 }),
  },
  'A metav1.Condition.',
  { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);

export const policyStatusSchema: Schema = obj(
  {
    observedGeneration: int('Generation the controller last reconciled.', { format: 'int64' }),
    conditions: list(conditionSchema, 'Ready, RulesValid and SecretReady.', {
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
    configMapName: str('Rendered rules ConfigMap.'),
    secretName: str('Rendered API-key Secret.'),
    rulesHash: str('SHA-256 (first 16 hex digits) of the rendered rules.yaml.'),
  },
  'Observed state, written by the controller.',
);

/** rules.yaml as the sidecar reads it (rendered by the controller from a policy). */
export const rulesFileSchema: Schema = {
  type: 'object',
  description: 'The rules file the sidecar reads from /etc/axom/rules.yaml.',
  additionalProperties: false,
  required: ['version'],
  properties: {
    version: { type: 'integer', enum: [1], description: 'Format version.' },
    policy: obj(
      {
        name: str('Policy name.'),
        namespace: str('Policy namespace.'),
        generation: int('Policy generation rendered.'),
      },
      'The policy this file was rendered from.',
    ),
    capture: captureRulesSchema,
    protocols: protocolsSchema,
    redaction: redactionSchema,
    rules: rulesSchema,
    llm: llmSchema,
    export: exportRulesSchema,
    system: systemSchema,
  },
};

/** Printer columns of `kubectl get obspol`. */
export const printerColumns = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
  { name: 'Export', type: 'boolean', jsonPath: '.spec.export.enabled' },
  { name: 'Backend', type: 'string', jsonPath: '.spec.export.backendUrl', priority: 1 },
  { name: 'Rules-Hash', type: 'string', jsonPath: '.status.rulesHash', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
