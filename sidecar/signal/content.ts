/** Bounds on the one free-text part of a signal: LLM prompt and completion (llm.captureContent). */
import { LLM_CONTENT_MAX_BYTES, type LlmContent } from './types.ts';

/** At most `maxBytes` of UTF-8, cut at a character boundary. */
export function truncateUtf8(text: string, maxBytes: number): string {
  // Fast path: even if every UTF-16 unit took 3 bytes it would fit.
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  const bytes = Buffer.from(text);
  let end = maxBytes;
  // A continuation byte (10xxxxxx) at the cut means a character started before it: drop it.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

/** Bounds `llm.content` in place (LLM_CONTENT_MAX_BYTES of UTF-8 each) and returns it. */
export function boundContent(content: LlmContent): LlmContent {
  if (content.prompt !== undefined) content.prompt = truncateUtf8(content.prompt, LLM_CONTENT_MAX_BYTES);
  if (content.completion !== undefined)
    content.completion = truncateUtf8(content.completion, LLM_CONTENT_MAX_BYTES);
  return content;
}
