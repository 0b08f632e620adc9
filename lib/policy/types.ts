/**
 * TypeScript shapes of lib/policy/schema.ts. Properties with schema defaults are required
 * here because every reader sees them defaulted (the API server applies the CRD defaults;
 * parseRulesFile applies the same defaults with ajv).
 */

export type ProtocolName = 'http' | 'http2' | 'grpc' | 'websocket' | 'postgres' | 'mysql' | 'tls';
export type LlmProvider = 'openai' | 'anthropic' | 'bedrock' | 'gemini' | 'openaiCompatible';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }>;
}

export interface CaptureSpec {
  interfaces: string[];
  bpfFilter?: string;
  snapLength: number;
  bufferSizeMiB: number;
  maxBodyBytes: number;
  connectionBufferBytes: number;
  totalBufferBytes: number;
  idleTimeoutSeconds: number;
}

export interface CaptureRules extends CaptureSpec {
  tlsKeyLog?: { path: string; waitMs: number };
}

export interface ProtocolToggle {
  enabled: boolean;
  ports?: number[];
}
export type ProtocolsSpec = Record<Exclude<ProtocolName, 'websocket'>, ProtocolToggle> & {
  websocket: ProtocolToggle & { messages: boolean };
};

export interface RedactionSpec {
  headers: string[];
  jsonFields: string[];
  patterns: Array<{ name: string; regex: string; replacement: string }>;
  sql: 'normalized' | 'full';
}

export interface RuleMatch {
  protocols?: ProtocolName[];
  methods?: string[];
  host?: string;
  path?: string;
  status?: string[];
  direction?: 'outbound' | 'inbound';
}

export interface Extract {
  metric: string;
  type: 'counter' | 'gauge' | 'histogram';
  help?: string;
  /** Unset: responseHeaders for `header`, else responseBody (see extractSource). */
  source?: 'requestBody' | 'responseBody' | 'requestHeaders' | 'responseHeaders';
  jsonPath?: string;
  header?: string;
  regex?: string;
  labels?: Record<string, string>;
  buckets?: number[];
}

export interface OutcomeWhen {
  status?: string[];
  bodyRegex?: string;
}

export interface AlertRule {
  name: string;
  severity: 'info' | 'warning' | 'critical';
  condition: string;
  message?: string;
}

export interface Rule {
  name: string;
  match?: RuleMatch;
  extract?: Extract[];
  outcome?: { failure?: OutcomeWhen; success?: OutcomeWhen };
  alerts?: AlertRule[];
}

export interface LlmSpec {
  enabled: boolean;
  providers: Record<LlmProvider, boolean>;
  mcp: boolean;
  captureContent: boolean;
}

export interface SystemSpec {
  enabled: boolean;
  intervalSeconds: number;
  gpu: boolean;
}

export interface ExportCommon {
  enabled: boolean;
  backendUrl?: string;
  format: 'json' | 'ndjson';
  batchSize: number;
  flushIntervalSeconds: number;
  maxQueueSize: number;
  timeoutSeconds: number;
  compression: 'gzip' | 'none';
}

export interface ApiKeySource {
  source: 'Secret' | 'Central' | 'None';
  secretRef?: { name: string; key: string };
}

export interface ExportSpec extends ExportCommon {
  apiKey: ApiKeySource;
}

export interface ExportRules extends ExportCommon {
  apiKeyFile?: string;
}

export type Quantity = string | number;
export interface ResourceList {
  cpu?: Quantity;
  memory?: Quantity;
}

export interface SidecarSpec {
  image?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  resources?: { requests?: ResourceList; limits?: ResourceList };
  nativeSidecar: 'auto' | 'always' | 'never';
  tlsKeyLog: boolean;
}

export interface PolicySpec {
  selector?: LabelSelector;
  capture: CaptureSpec;
  protocols: ProtocolsSpec;
  redaction: RedactionSpec;
  rules: Rule[];
  llm: LlmSpec;
  export: ExportSpec;
  system: SystemSpec;
  sidecar: SidecarSpec;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface PolicyStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  configMapName?: string;
  secretName?: string;
  rulesHash?: string;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ObservationPolicy {
  apiVersion: 'observer.axom.ai/v1alpha1';
  kind: 'ObservationPolicy';
  metadata: ObjectMeta;
  spec: PolicySpec;
  status?: PolicyStatus;
}

/** rules.yaml as the sidecar sees it, after defaults. */
export interface RulesFile {
  version: 1;
  policy?: { name: string; namespace: string; generation?: number };
  capture: CaptureRules;
  protocols: ProtocolsSpec;
  redaction: RedactionSpec;
  rules: Rule[];
  llm: LlmSpec;
  export: ExportRules;
  system: SystemSpec;
}

/** Where an extract reads its value when `source` is not set. */
export function extractSource(ex: Extract): NonNullable<Extract['source']> {
  return ex.source ?? (ex.header !== undefined ? 'responseHeaders' : 'responseBody');
}
