/**
 * AWS Bedrock runtime: InvokeModel (token counts in x-amzn-bedrock-*-token-count headers),
 * InvokeModelWithResponseStream (event stream of base64 model chunks, the last carrying
 * amazon-bedrock-invocationMetrics), Converse and ConverseStream (usage in the body or the
 * stream's `metadata` event). Exceptions inside a stream are reported as in-stream errors.
 */
import { anthropicBodyUsage } from './anthropic.ts';
import { type Exchange, type Route, usageOf } from './detect.ts';
import { decodeEventStream } from './eventstream.ts';
import { addName, arr, count, type Json, type JsonObject, obj, parseJson, path, str } from './json.ts';
import type { ExtractOptions } from './openai.ts';
import type { LlmUsage } from './types.ts';

function headerCount(h: Record<string, string>, name: string): number | undefined {
  const v = h[name];
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

function converseUsage(u: LlmUsage, usage: JsonObject | undefined): void {
  if (usage === undefined) return;
  const input = count(usage.inputTokens);
  const read = count(usage.cacheReadInputTokens);
  const write = count(usage.cacheWriteInputTokens);
  if (input !== undefined) u.inputTokens = input + (read ?? 0) + (write ?? 0);
  const output = count(usage.outputTokens);
  if (output !== undefined) u.outputTokens = output;
  if (read !== undefined) u.cachedInputTokens = read;
  if (write !== undefined) u.cacheCreationTokens = write;
}

/** Model-specific chunk of InvokeModel(WithResponseStream): Anthropic, Llama, Titan, Nova, ... */
function modelChunk(
  u: LlmUsage,
  tools: string[],
  c: JsonObject,
  completion: { text: string },
  o: ExtractOptions,
): void {
  const type = str(c.type);
  if (type === 'message_start') anthropicBodyUsage(u, obj(c.message) ?? {});
  if (type === 'content_block_start') {
    const b = obj(c.content_block);
    if (b?.type === 'tool_use') addName(tools, str(b.name));
  }
  const stop =
    str(path(c, 'delta', 'stop_reason')) ??
    str(c.stop_reason) ??
    str(c.stopReason) ??
    str(c.completionReason);
  if (stop !== undefined) u.finishReason = stop;
  for (const block of arr(c.content)) {
    const b = obj(block);
    if (b?.type === 'tool_use') addName(tools, str(b.name));
    if (o.captureContent && typeof b?.text === 'string') completion.text += b.text;
  }
  if (o.captureContent) {
    const t = path(c, 'delta', 'text') ?? c.generation ?? c.outputText ?? c.completion;
    if (typeof t === 'string' && completion.text.length < o.maxContentChars) completion.text += t;
  }
  const metrics = obj(c['amazon-bedrock-invocationMetrics']);
  if (metrics !== undefined) {
    const i = count(metrics.inputTokenCount);
    const out = count(metrics.outputTokenCount);
    if (i !== undefined) u.inputTokens = i;
    if (out !== undefined) u.outputTokens = out;
    const read = count(metrics.cacheReadInputTokenCount);
    const write = count(metrics.cacheWriteInputTokenCount);
    if (read !== undefined) u.cachedInputTokens = read;
    if (write !== undefined) u.cacheCreationTokens = write;
  }
}

export function extractBedrock(
  ex: Exchange,
  route: Route,
  body: Json | undefined,
  o: ExtractOptions,
): LlmUsage {
  const u = usageOf(route);
  const tools: string[] = [];
  const completion = { text: '' };
  const h = ex.responseHeaders;
  const raw = ex.tx.response?.body;

  switch (route.kind) {
    case 'bedrock-invoke': {
      u.stream = false;
      const b = obj(body);
      if (b !== undefined) modelChunk(u, tools, b, completion, o);
      if (b !== undefined && b.type === 'message') anthropicBodyUsage(u, b);
      break;
    }
    case 'bedrock-converse': {
      u.stream = false;
      const b = obj(body);
      converseUsage(u, obj(b?.usage));
      const stop = str(b?.stopReason);
      if (stop !== undefined) u.finishReason = stop;
      for (const c of arr(path(b, 'output', 'message', 'content'))) {
        addName(tools, str(path(c, 'toolUse', 'name')));
        const t = obj(c)?.text;
        if (o.captureContent && typeof t === 'string') completion.text += t;
      }
      break;
    }
    case 'bedrock-invoke-stream':
    case 'bedrock-converse-stream': {
      u.stream = true;
      if (raw === undefined) break;
      const { messages } = decodeEventStream(raw);
      for (const m of messages) {
        if (m.headers[':message-type'] === 'exception' || m.headers[':message-type'] === 'error') {
          const type = m.headers[':exception-type'] ?? m.headers[':error-code'] ?? 'exception';
          u.error = { type: String(type), inStream: true };
          u.finishReason = 'error';
          continue;
        }
        const payload = obj(parseJson(m.payload));
        if (payload === undefined) continue;
        const event = String(m.headers[':event-type'] ?? '');
        if (route.kind === 'bedrock-invoke-stream') {
          if (event !== 'chunk' || typeof payload.bytes !== 'string') continue;
          const chunk = obj(parseJson(Buffer.from(payload.bytes, 'base64')));
          if (chunk !== undefined) modelChunk(u, tools, chunk, completion, o);
          continue;
        }
        if (event === 'contentBlockStart') addName(tools, str(path(payload, 'start', 'toolUse', 'name')));
        else if (event === 'contentBlockDelta' && o.captureContent) {
          const t = path(payload, 'delta', 'text');
          if (typeof t === 'string' && completion.text.length < o.maxContentChars) completion.text += t;
        } else if (event === 'messageStop') {
          const stop = str(payload.stopReason);
          if (stop !== undefined) u.finishReason = stop;
        } else if (event === 'metadata') converseUsage(u, obj(payload.usage));
      }
      const first = ex.tx.response?.firstByteMs;
      if (first !== undefined) u.timeToFirstTokenMs = Math.max(0, first - ex.tx.startMs);
      break;
    }
    default:
      break;
  }
  // InvokeModel's headers are authoritative for every model family.
  const input = headerCount(h, 'x-amzn-bedrock-input-token-count');
  const output = headerCount(h, 'x-amzn-bedrock-output-token-count');
  if (input !== undefined) u.inputTokens = input;
  if (output !== undefined) u.outputTokens = output;
  const cacheRead = headerCount(h, 'x-amzn-bedrock-cache-read-input-token-count');
  const cacheWrite = headerCount(h, 'x-amzn-bedrock-cache-write-input-token-count');
  if (cacheRead !== undefined || cacheWrite !== undefined) {
    if (cacheRead !== undefined) u.cachedInputTokens = cacheRead;
    if (cacheWrite !== undefined) u.cacheCreationTokens = cacheWrite;
    if (input !== undefined) u.inputTokens = input + (cacheRead ?? 0) + (cacheWrite ?? 0);
  }
  if (tools.length > 0) u.toolCalls = tools;
  if (o.captureContent) {
    u.content = {};
    const req = ex.request;
    const parts: string[] = [];
    for (const m of arr(req?.messages)) {
      const c = obj(m)?.content;
      if (typeof c === 'string') parts.push(c);
      for (const b of arr(c)) if (typeof obj(b)?.text === 'string') parts.push(obj(b)!.text as string);
    }
    if (typeof req?.prompt === 'string') parts.push(req.prompt);
    if (typeof req?.inputText === 'string') parts.push(req.inputText);
    if (parts.length > 0) u.content.prompt = parts.join('\n').slice(0, o.maxContentChars);
    if (completion.text !== '') u.content.completion = completion.text.slice(0, o.maxContentChars);
  }
  return u;
}
