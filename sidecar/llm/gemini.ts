/**
 * Google Gemini (generativelanguage.googleapis.com and Vertex AI): usageMetadata on each
 * response; streamGenerateContent repeats it cumulatively, so the last one counts. The
 * stream is SSE with `alt=sse`, otherwise one JSON array of responses.
 */
import { type Exchange, type Route, usageOf } from './detect.ts';
import { addName, arr, count, type Json, type JsonObject, obj, parseJson, path, str } from './json.ts';
import { type ExtractOptions, promptText } from './openai.ts';
import type { StreamEvent } from './sse.ts';
import type { LlmUsage } from './types.ts';

export function extractGemini(
  ex: Exchange,
  route: Route,
  body: Json | undefined,
  events: StreamEvent[] | undefined,
  o: ExtractOptions,
): LlmUsage {
  const u = usageOf(route);
  u.stream = route.kind === 'gemini-stream';
  const tools: string[] = [];
  let completion = '';
  const max = o.maxContentChars;
  let firstAt: number | undefined;

  const onResponse = (r: JsonObject | undefined, atMs: number | undefined) => {
    if (r === undefined) return;
    if (typeof r.modelVersion === 'string') u.responseModel = r.modelVersion;
    const m = obj(r.usageMetadata);
    if (m !== undefined) {
      const prompt = count(m.promptTokenCount);
      const toolPrompt = count(m.toolUsePromptTokenCount);
      if (prompt !== undefined) u.inputTokens = prompt + (toolPrompt ?? 0);
      const out = count(m.candidatesTokenCount);
      const thoughts = count(m.thoughtsTokenCount);
      // Thinking tokens are billed as output; reported apart as reasoning.
      if (out !== undefined || thoughts !== undefined) u.outputTokens = (out ?? 0) + (thoughts ?? 0);
      if (thoughts !== undefined) u.reasoningTokens = thoughts;
      const cached = count(m.cachedContentTokenCount);
      if (cached !== undefined) u.cachedInputTokens = cached;
    }
    for (const c of arr(r.candidates)) {
      const fr = str(obj(c)?.finishReason);
      if (fr !== undefined) u.finishReason = fr;
      for (const part of arr(path(c, 'content', 'parts'))) {
        const p = obj(part);
        addName(tools, str(path(p, 'functionCall', 'name')));
        if (typeof p?.text === 'string') {
          if (firstAt === undefined && atMs !== undefined) firstAt = atMs;
          if (o.captureContent && completion.length < max)
            completion += p.text.slice(0, max - completion.length);
        }
      }
    }
    const err = obj(r.error);
    if (err !== undefined)
      u.error = { type: str(err.status) ?? String(err.code ?? 'error'), inStream: u.stream === true };
  };

  if (route.kind === 'gemini-embed') {
    // embedContent reports no token usage; the model and the call still count.
  } else if (events !== undefined) {
    for (const e of events) onResponse(obj(parseJson(e.data)), e.atMs);
  } else if (Array.isArray(body)) {
    for (const r of body) onResponse(obj(r), undefined);
  } else {
    onResponse(obj(body), undefined);
  }
  if (firstAt !== undefined && u.stream) u.timeToFirstTokenMs = Math.max(0, firstAt - ex.tx.startMs);
  if (tools.length > 0) u.toolCalls = tools;
  if (o.captureContent) {
    u.content = {};
    const parts: string[] = [];
    for (const c of arr(ex.request?.contents))
      for (const p of arr(obj(c)?.parts))
        if (typeof obj(p)?.text === 'string') parts.push(obj(p)!.text as string);
    const prompt = parts.length > 0 ? parts.join('\n').slice(0, max) : promptText(ex.request, max);
    if (prompt !== undefined) u.content.prompt = prompt;
    if (completion !== '') u.content.completion = completion;
  }
  return u;
}
