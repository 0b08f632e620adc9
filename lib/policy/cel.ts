/**
 * Alert conditions are CEL (the expression language Kubernetes itself uses), never
 * JavaScript: user input is parsed and type-checked against the signal's declared shape,
 * so an unknown field is an error when the policy is applied, not a silent false later.
 */
import { Environment } from '@marcbachmann/cel-js';

const endpoint = { ip: 'string', port: 'double' };

/** The signal as CEL sees it (sidecar/signal/types.ts); numbers are doubles. */
const SIGNAL_SCHEMA = {
  id: 'string',
  kind: 'string',
  timestamp: 'string',
  policy: 'string',
  pod: { name: 'string', namespace: 'string' },
  protocol: 'string',
  direction: 'string',
  source: endpoint,
  destination: { ...endpoint, host: 'string' },
  operation: 'string',
  status: 'dyn',
  latencyMs: 'double',
  requestBytes: 'double',
  responseBytes: 'double',
  complete: 'bool',
  http: {
    method: 'string',
    path: 'string',
    host: 'string',
    statusCode: 'double',
    requestHeaders: 'map<string, string>',
    responseHeaders: 'map<string, string>',
  },
  grpc: {
    service: 'string',
    method: 'string',
    statusCode: 'double',
    statusMessage: 'string',
    requestMessages: 'double',
    responseMessages: 'double',
  },
  websocket: { messagesSent: 'double', messagesReceived: 'double', closeCode: 'double' },
  db: {
    system: 'string',
    statement: 'string',
    operation: 'string',
    table: 'string',
    rows: 'double',
    errorCode: 'string',
    errorMessage: 'string',
  },
  tls: { sni: 'string', version: 'string', decrypted: 'bool' },
  llm: {
    provider: 'string',
    operation: 'string',
    model: 'string',
    stream: 'bool',
    inputTokens: 'double',
    outputTokens: 'double',
    cachedInputTokens: 'double',
    reasoningTokens: 'double',
    toolCalls: 'list<string>',
    finishReason: 'string',
    timeToFirstTokenMs: 'double',
  },
  mcp: { method: 'string', tool: 'string', sessionId: 'string' },
  metrics: 'map<string, double>',
  outcome: 'string',
} as const;

let signalEnv: Environment | undefined;
function environment(): Environment {
  signalEnv ??= new Environment({
    unlistedVariablesAreDyn: false,
    limits: { maxAstNodes: 500, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 },
  }).registerVariable({ name: 'signal', schema: SIGNAL_SCHEMA });
  return signalEnv;
}

export interface CompiledCondition {
  readonly source: string;
  /** True when the condition holds; a runtime error (e.g. a missing field) counts as false. */
  test(signal: object): boolean;
}

/** Parses and type-checks `expr`; throws an Error with CEL's message when it is not valid. */
export function compileCondition(expr: string): CompiledCondition {
  const env = environment();
  const checked = env.check(expr);
  if (!checked.valid) throw new Error(firstLine(checked.error?.message ?? 'invalid expression'));
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new Error(`condition must be a bool expression, this one is ${checked.type}`);
  }
  const program = env.parse(expr);
  return {
    source: expr,
    test(signal: object): boolean {
      try {
        return program({ signal }) === true;
      } catch {
        return false;
      }
    },
  };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Evaluates one CRD x-kubernetes-validations rule with `self` bound (see validate.ts). */
const selfEnv = new Environment({
  unlistedVariablesAreDyn: false,
  homogeneousAggregateLiterals: false,
}).registerVariable('self', 'dyn');
const selfPrograms = new Map<string, ReturnType<Environment['parse']>>();
export function evaluateSelfRule(rule: string, self: unknown): boolean {
  let program = selfPrograms.get(rule);
  if (!program) {
    program = selfEnv.parse(rule);
    selfPrograms.set(rule, program);
  }
  return program({ self }) === true;
}
