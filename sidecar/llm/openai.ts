/**
 * OpenAI's API shapes, also spoken by vLLM, Ollama's /v1, LiteLLM, Azure OpenAI and most
 * gateways: Chat Completions (streaming with stream_options.include_usage), Responses
 * (streaming events), Embeddings, legacy Completions; and Ollama's native /api endpoints.
 */
import { type Exchange, type Route, usageOf } from './detect.ts';
import { addName, arr, count, type Json, type JsonObject, obj, parseJson, path, str } from './json.ts';
import type { StreamEvent } from './sse.ts';
import type { LlmUsage } from './types.ts';

export interface ExtractOptions {
  captureContent: boolean;
  /** Cap on captured text, per direction. */
  maxContentChars: number;
}

function chatUsage(u: LlmUsage, usage: Json | undefined): void {
  const o = obj(usage);
  if (o === undefined) return;
  const input = count(o.prompt_tokens) ?? count(o.input_tokens);
  const output = count(o.completion_tokens) ?? count(o.output_tokens);
  if (input !== undefined) u.inputTokens = input;
  if (output !== undefined) u.outputTokens = output;
  const cached =
    count(path(o, 'prompt_tokens_details', 'cached_tokens')) ??
    count(path(o, 'input_tokens_details', 'cached_tokens'));
  if (cached !== undefined) u.cachedInputTokens = cached;
  const reasoning =
    count(path(o, 'completion_tokens_details', 'reasoning_tokens')) ??
    count(path(o, 'output_tokens_details', 'reasoning_tokens'));
  if (reasoning !== undefined) u.reasoningTokens = reasoning;
}

function appendText(acc: { text: string }, piece: Json | undefined, max: number): void {
  if (typeof piece === 'string' && acc.text.length < max) acc.text += piece.slice(0, max - acc.text.length);
}

function promptText(req: JsonObject | undefined, max: number): string | undefined {
  if (req === undefined) return undefined;
  const parts: string[] = [];
  const take = (v: Json | undefined) => {
    if (typeof v === 'string') parts.push(v);
    else for (const c of arr(v)) if (typeof obj(c)?.text === 'string') parts.push(obj(c)!.text as string);
  };
  if (typeof req.instructions === 'string') parts.push(req.instructions);
  if (typeof req.system === 'string') parts.push(req.system);
  for (const m of arr(req.messages)) take(obj(m)?.content);
  if (typeof req.input === 'string') parts.push(req.input);
  else for (const m of arr(req.input)) take(obj(m)?.content);
  if (typeof req.prompt === 'string') parts.push(req.prompt);
  const text = parts.join('\n');
  return text === '' ? undefined : text.slice(0, max);
}

function firstAt(events: StreamEvent[], pred: (data: Json) => boolean): number | undefined {
  for (const e of events) {
    if (e.atMs === undefined) continue;
    const d = parseJson(e.data);
    if (d !== undefined && pred(d)) return e.atMs;
  }
  return undefined;
}

export function extractOpenAi(
  ex: Exchange,
  route: Route,
  body: Json | undefined,
  events: StreamEvent[] | undefined,
  o: ExtractOptions,
): LlmUsage {
  const req = ex.request;
  const u = usageOf(route, req?.model);
  const tools: string[] = [];
  const completion = { text: '' };
  const max = o.maxContentChars;

  switch (route.kind) {
    case 'openai-chat':
    case 'openai-completions': {
      u.stream = req?.stream === true || events !== undefined;
      if (events !== undefined) {
        for (const e of events) {
          if (e.data === '[DONE]') continue;
          const chunk = obj(parseJson(e.data));
          if (chunk === undefined) continue;
          if (typeof chunk.model === 'string') u.responseModel = chunk.model;
          if (chunk.usage !== undefined && chunk.usage !== null) chatUsage(u, chunk.usage);
          for (const c of arr(chunk.choices)) {
            const choice = obj(c);
            const fr = str(choice?.finish_reason);
            if (fr !== undefined) u.finishReason = fr;
            const delta = obj(choice?.delta);
            for (const tc of arr(delta?.tool_calls)) addName(tools, str(path(tc, 'function', 'name')));
            if (o.captureContent) appendText(completion, delta?.content ?? choice?.text, max);
          }
        }
        const ttft = firstAt(events, (d) =>
          arr(obj(d)?.choices).some((c) => {
            const delta = obj(obj(c)?.delta);
            return (
              (typeof delta?.content === 'string' && delta.content !== '') ||
              delta?.tool_calls !== undefined ||
              typeof delta?.reasoning_content === 'string' ||
              typeof obj(c)?.text === 'string'
            );
          }),
        );
        if (ttft !== undefined) u.timeToFirstTokenMs = Math.max(0, ttft - ex.tx.startMs);
      } else {
        const b = obj(body);
        if (typeof b?.model === 'string') u.responseModel = b.model;
        chatUsage(u, b?.usage);
        for (const c of arr(b?.choices)) {
          const choice = obj(c);
          const fr = str(choice?.finish_reason);
          if (fr !== undefined && u.finishReason === undefined) u.finishReason = fr;
          for (const tc of arr(path(choice, 'message', 'tool_calls')))
            addName(tools, str(path(tc, 'function', 'name')));
          if (o.captureContent)
            appendText(completion, path(choice, 'message', 'content') ?? choice?.text, max);
        }
      }
      break;
    }
    case 'openai-responses': {
      u.stream = req?.stream === true || events !== undefined;
      const final = (r: JsonObject | undefined) => {
        if (r === undefined) return;
        if (typeof r.model === 'string') u.responseModel = r.model;
        chatUsage(u, r.usage);
        const status = str(r.status);
        const incomplete = str(path(r, 'incomplete_details', 'reason'));
        if (incomplete !== undefined) u.finishReason = incomplete;
        else if (status !== undefined && status !== 'in_progress') u.finishReason = status;
        for (const item of arr(r.output)) {
          const it = obj(item);
          if (it?.type === 'function_call' || it?.type === 'custom_tool_call') addName(tools, str(it.name));
          else if (it?.type === 'mcp_call') addName(tools, str(it.name));
          if (o.captureContent && !u.stream && it?.type === 'message') {
            for (const c of arr(it.content)) appendText(completion, obj(c)?.text, max);
          }
        }
      };
      if (events !== undefined) {
        for (const e of events) {
          const ev = obj(parseJson(e.data));
          if (ev === undefined) continue;
          const type = str(ev.type) ?? e.event;
          if (type === 'response.output_item.added' || type === 'response.output_item.done') {
            const item = obj(ev.item);
            if (item?.type === 'function_call' || item?.type === 'mcp_call') addName(tools, str(item.name));
          } else if (type === 'response.output_text.delta' && o.captureContent) {
            appendText(completion, ev.delta, max);
          } else if (
            type === 'response.completed' ||
            type === 'response.incomplete' ||
            type === 'response.failed' ||
            type === 'response.created'
          ) {
            final(obj(ev.response));
          }
        }
        const ttft = firstAt(events, (d) => {
          const t = str(obj(d)?.type);
          return (
            t === 'response.output_text.delta' ||
            t === 'response.function_call_arguments.delta' ||
            t === 'response.reasoning_summary_text.delta'
          );
        });
        if (ttft !== undefined) u.timeToFirstTokenMs = Math.max(0, ttft - ex.tx.startMs);
      } else {
        final(obj(body));
      }
      break;
    }
    case 'openai-embeddings': {
      const b = obj(body);
      if (typeof b?.model === 'string') u.responseModel = b.model;
      chatUsage(u, b?.usage);
      break;
    }
    case 'ollama-chat':
    case 'ollama-generate':
    case 'ollama-embed': {
      // Ollama streams NDJSON by default (stream: true unless the request says false).
      const lines =
        events ??
        (ex.tx.response?.body?.toString('utf8') ?? '')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((data) => ({ data }));
      u.stream = route.kind !== 'ollama-embed' && req?.stream !== false && lines.length > 1;
      for (const l of lines) {
        const c = obj(parseJson(l.data));
        if (c === undefined) continue;
        if (typeof c.model === 'string') u.responseModel = c.model;
        const pe = count(c.prompt_eval_count);
        const ev = count(c.eval_count);
        if (pe !== undefined) u.inputTokens = pe;
        if (ev !== undefined) u.outputTokens = ev;
        const dr = str(c.done_reason);
        if (dr !== undefined) u.finishReason = dr;
        for (const tc of arr(path(c, 'message', 'tool_calls')))
          addName(tools, str(path(tc, 'function', 'name')));
        if (o.captureContent) appendText(completion, path(c, 'message', 'content') ?? c.response, max);
      }
      break;
    }
    default:
      break;
  }
  if (tools.length > 0) u.toolCalls = tools;
  if (o.captureContent) {
    const prompt = promptText(req, max);
    u.content = {};
    if (prompt !== undefined) u.content.prompt = prompt;
    if (completion.text !== '') u.content.completion = completion.text;
  }
  return u;
}

export { promptText };
