/** What LLM extraction produces: the signal's `llm` object plus what only metrics use. */
import type { LlmInfo } from '../signal/types.ts';

/** Values of `gen_ai.provider.name` (OpenTelemetry GenAI semantic conventions) where one exists. */
export const PROVIDER_NAMES = {
  openai: 'openai',
  azureOpenai: 'azure.ai.openai',
  anthropic: 'anthropic',
  bedrock: 'aws.bedrock',
  gemini: 'gcp.gemini',
  vertex: 'gcp.vertex_ai',
  openaiCompatible: 'openai_compatible',
  ollama: 'ollama',
} as const;

/** The policy switch (rules.yaml `llm.providers.<key>`) that governs each provider name. */
export type ProviderSwitch = 'openai' | 'anthropic' | 'bedrock' | 'gemini' | 'openaiCompatible';

export interface RateLimit {
  limitRequests?: number;
  remainingRequests?: number;
  limitTokens?: number;
  remainingTokens?: number;
  limitInputTokens?: number;
  remainingInputTokens?: number;
  limitOutputTokens?: number;
  remainingOutputTokens?: number;
  retryAfterSeconds?: number;
}

export interface LlmError {
  /** The provider's own error type: `rate_limit_error`, `overloaded_error`, `ThrottlingException`, ... */
  type: string;
  /** HTTP status, or absent for an error inside a 200 stream. */
  status?: number;
  inStream: boolean;
}

export interface LlmUsage extends LlmInfo {
  /** The model the response names (may differ from the requested one). */
  responseModel?: string;
  /** Anthropic / Bedrock prompt-cache writes, billed separately; included in inputTokens. */
  cacheCreationTokens?: number;
  error?: LlmError;
  rateLimit?: RateLimit;
  /** Prompt and completion text; only filled when the policy opts in (llm.captureContent). */
  content?: { prompt?: string; completion?: string };
}

/** OpenTelemetry `gen_ai.operation.name` values. */
export type GenAiOperation = 'chat' | 'text_completion' | 'embeddings' | 'generate_content';
