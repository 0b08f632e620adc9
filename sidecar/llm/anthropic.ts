/**
 * Anthropic Messages. Streaming usage is cumulative: message_start carries the input side,
 * each message_delta the running output total, so the last value wins (never a sum).
 * inputTokens counts every prompt token: input_tokens plus cache reads and cache writes
 * (Anthropic reports them apart), with cache reads also in cachedInputTokens.
 */
import { type Exchange, type Route, usageOf } from './detect.ts';
import { addName, arr, count, type Json, type JsonObject, obj, parseJson, str } from './json.ts';
import { type ExtractOptions, promptText } from './openai.ts';
import type { StreamEvent } from './sse.ts';
import type { LlmUsage } from './types.ts';

interface Tally {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheCreation?: number;
}

function takeUsage(t: Tally, usage: JsonObject | undefined): void {
  if (usage === undefined) return;
  t.input = count(usage.input_tokens) ?? t.input;
  t.output = count(usage.output_tokens) ?? t.output;
  t.cacheRead = count(usage.cache_read_input_tokens) ?? t.cacheRead;
  t.cacheCreation = count(usage.cache_creation_input_tokens) ?? t.cacheCreation;
}

export function extractAnthropic(
  ex: Exchange,
  route: Route,
  body: Json | undefined,
  events: StreamEvent[] | undefined,
  o: ExtractOptions,
): LlmUsage {
  const req = ex.request;
  const u = usageOf(route, req?.model);
  const tools: string[] = [];
  const t: Tally = {};
  let completion = '';
  const max = o.maxContentChars;
  const onMessage = (m: JsonObject | undefined) => {
    if (m === undefined) return;
    if (typeof m.model === 'string') u.responseModel = m.model;
    takeUsage(t, obj(m.usage));
    const stop = str(m.stop_reason);
    if (stop !== undefined) u.finishReason = stop;
    for (const block of arr(m.content)) {
      const b = obj(block);
      if (b?.type === 'tool_use' || b?.type === 'server_tool_use' || b?.type === 'mcp_tool_use')
        addName(tools, str(b.name));
      if (o.captureContent && typeof b?.text === 'string' && completion.length < max)
        completion += b.text.slice(0, max - completion.length);
    }
  };

  if (events !== undefined) {
    u.stream = true;
    let firstToken: number | undefined;
    for (const e of events) {
      const ev = obj(parseJson(e.data));
      if (ev === undefined) continue;
      const type = str(ev.type) ?? e.event;
      switch (type) {
        case 'message_start':
          onMessage(obj(ev.message));
          break;
        case 'content_block_start': {
          const b = obj(ev.content_block);
          if (b?.type === 'tool_use' || b?.type === 'server_tool_use' || b?.type === 'mcp_tool_use')
            addName(tools, str(b.name));
          break;
        }
        case 'content_block_delta': {
          if (firstToken === undefined && e.atMs !== undefined) firstToken = e.atMs;
          const text = obj(ev.delta)?.text;
          if (o.captureContent && typeof text === 'string' && completion.length < max)
            completion += text.slice(0, max - completion.length);
          break;
        }
        case 'message_delta': {
          const stop = str(obj(ev.delta)?.stop_reason);
          if (stop !== undefined) u.finishReason = stop;
          takeUsage(t, obj(ev.usage)); // cumulative: replaces, never adds
          break;
        }
        case 'error': {
          const err = obj(ev.error);
          u.error = { type: str(err?.type) ?? 'error', inStream: true };
          u.finishReason = 'error';
          break;
        }
        default:
          break;
      }
    }
    if (firstToken !== undefined) u.timeToFirstTokenMs = Math.max(0, firstToken - ex.tx.startMs);
  } else {
    u.stream = false;
    onMessage(obj(body));
  }

  const input = t.input === undefined ? undefined : t.input + (t.cacheRead ?? 0) + (t.cacheCreation ?? 0);
  if (input !== undefined) u.inputTokens = input;
  if (t.output !== undefined) u.outputTokens = t.output;
  if (t.cacheRead !== undefined) u.cachedInputTokens = t.cacheRead;
  if (t.cacheCreation !== undefined) u.cacheCreationTokens = t.cacheCreation;
  if (tools.length > 0) u.toolCalls = tools;
  if (o.captureContent) {
    u.content = {};
    const prompt = promptText(req, max);
    if (prompt !== undefined) u.content.prompt = prompt;
    if (completion !== '') u.content.completion = completion;
  }
  return u;
}

/** Usage fields of an Anthropic message body (also used inside Bedrock InvokeModel). */
export function anthropicBodyUsage(u: LlmUsage, body: JsonObject): void {
  const t: Tally = {};
  takeUsage(t, obj(body.usage));
  if (t.input !== undefined) u.inputTokens = t.input + (t.cacheRead ?? 0) + (t.cacheCreation ?? 0);
  if (t.output !== undefined) u.outputTokens = t.output;
  if (t.cacheRead !== undefined) u.cachedInputTokens = t.cacheRead;
  if (t.cacheCreation !== undefined) u.cacheCreationTokens = t.cacheCreation;
}
