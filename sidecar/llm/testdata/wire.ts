/**
 * Provider responses in each API's documented wire format, shared by the unit tests and
 * the local provider servers of the integration tests (test/integration/llm*.test.ts).
 */
import { encodeEventStreamMessage } from '../eventstream.ts';

export const sse = (events: Array<{ event?: string; data: unknown }>): string =>
  events
    .map(
      (e) =>
        `${e.event !== undefined ? `event: ${e.event}\n` : ''}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`,
    )
    .join('');

export const openaiChat = {
  body: {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gpt-4o-2024-08-06',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
          ],
        },
        finish_reason: 'tool_calls',
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: 1200,
      completion_tokens: 42,
      total_tokens: 1242,
      prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
  },
};

export function openaiChatStream(): string {
  const base = {
    id: 'chatcmpl-2',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'gpt-4o-mini',
  };
  return `${sse([
    {
      data: {
        ...base,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
        usage: null,
      },
    },
    {
      data: {
        ...base,
        choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }],
        usage: null,
      },
    },
    {
      data: {
        ...base,
        choices: [{ index: 0, delta: { content: ' world' }, finish_reason: null }],
        usage: null,
      },
    },
    { data: { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null } },
    {
      data: {
        ...base,
        choices: [],
        usage: {
          prompt_tokens: 17,
          completion_tokens: 2,
          total_tokens: 19,
          prompt_tokens_details: { cached_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0 },
        },
      },
    },
  ])}data: [DONE]\n\n`;
}

export const openaiResponses = {
  body: {
    id: 'resp_1',
    object: 'response',
    created_at: 1700000000,
    status: 'completed',
    model: 'o4-mini-2025-04-16',
    output: [
      { id: 'rs_1', type: 'reasoning', summary: [] },
      {
        id: 'fc_1',
        type: 'function_call',
        call_id: 'call_9',
        name: 'search_docs',
        arguments: '{}',
        status: 'completed',
      },
    ],
    usage: {
      input_tokens: 300,
      input_tokens_details: { cached_tokens: 128 },
      output_tokens: 250,
      output_tokens_details: { reasoning_tokens: 192 },
      total_tokens: 550,
    },
  },
};

export function openaiResponsesStream(): string {
  const response = { ...openaiResponses.body, output: [] as unknown[] };
  return sse([
    {
      event: 'response.created',
      data: {
        type: 'response.created',
        sequence_number: 0,
        response: { ...response, status: 'in_progress', usage: null },
      },
    },
    {
      event: 'response.output_item.added',
      data: {
        type: 'response.output_item.added',
        sequence_number: 1,
        output_index: 0,
        item: { id: 'msg_1', type: 'message', role: 'assistant', content: [], status: 'in_progress' },
      },
    },
    {
      event: 'response.output_text.delta',
      data: {
        type: 'response.output_text.delta',
        sequence_number: 2,
        item_id: 'msg_1',
        output_index: 0,
        content_index: 0,
        delta: 'Hi',
      },
    },
    {
      event: 'response.completed',
      data: {
        type: 'response.completed',
        sequence_number: 3,
        response: {
          ...response,
          output: [
            {
              id: 'msg_1',
              type: 'message',
              role: 'assistant',
              content: [{ type: 'output_text', text: 'Hi', annotations: [] }],
            },
          ],
          usage: {
            input_tokens: 11,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: 7,
            output_tokens_details: { reasoning_tokens: 4 },
            total_tokens: 18,
          },
        },
      },
    },
  ]);
}

export const openaiEmbeddings = {
  body: {
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }],
    model: 'text-embedding-3-small',
    usage: { prompt_tokens: 8, total_tokens: 8 },
  },
};

export const anthropicMessage = {
  body: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-20250514',
    content: [
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'toolu_1', name: 'get_stock_price', input: { ticker: 'ACME' } },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: {
      input_tokens: 50,
      cache_creation_input_tokens: 200,
      cache_read_input_tokens: 1000,
      output_tokens: 30,
    },
  },
};

/** Streaming usage is cumulative: message_delta's output_tokens is the running total. */
export function anthropicStream(): string {
  return sse([
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: 'msg_2',
          type: 'message',
          role: 'assistant',
          model: 'claude-3-5-haiku-20241022',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: 25,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 10,
            output_tokens: 1,
          },
        },
      },
    },
    {
      event: 'content_block_start',
      data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    },
    { event: 'ping', data: { type: 'ping' } },
    {
      event: 'content_block_delta',
      data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
    },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    {
      event: 'content_block_start',
      data: {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: 'toolu_2', name: 'lookup', input: {} },
      },
    },
    {
      event: 'content_block_delta',
      data: {
        type: 'content_block_delta',
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '{}' },
      },
    },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 1 } },
    {
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { output_tokens: 15 },
      },
    },
    {
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { output_tokens: 15 },
      },
    },
    { event: 'message_stop', data: { type: 'message_stop' } },
  ]);
}

export function anthropicOverloadedStream(): string {
  return sse([
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: 'msg_3',
          type: 'message',
          role: 'assistant',
          model: 'claude-3-5-haiku-20241022',
          content: [],
          usage: { input_tokens: 9, output_tokens: 1 },
        },
      },
    },
    { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
  ]);
}

export const geminiGenerate = {
  body: {
    candidates: [
      {
        content: { role: 'model', parts: [{ functionCall: { name: 'find_flights', args: { to: 'SFO' } } }] },
        finishReason: 'STOP',
        index: 0,
      },
    ],
    usageMetadata: {
      promptTokenCount: 70,
      candidatesTokenCount: 12,
      totalTokenCount: 102,
      cachedContentTokenCount: 32,
      thoughtsTokenCount: 20,
    },
    modelVersion: 'gemini-2.5-flash',
    responseId: 'abc',
  },
};

export function geminiStream(): string {
  return sse([
    {
      data: {
        candidates: [{ content: { role: 'model', parts: [{ text: 'Once' }] }, index: 0 }],
        usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 1, totalTokenCount: 10 },
        modelVersion: 'gemini-2.0-flash',
      },
    },
    {
      data: {
        candidates: [
          { content: { role: 'model', parts: [{ text: ' upon a time' }] }, finishReason: 'STOP', index: 0 },
        ],
        usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 5, totalTokenCount: 14 },
        modelVersion: 'gemini-2.0-flash',
      },
    },
  ]);
}

export const bedrockConverse = {
  body: {
    output: {
      message: {
        role: 'assistant',
        content: [
          { text: 'Checking.' },
          { toolUse: { toolUseId: 't1', name: 'top_song', input: { sign: 'WZPZ' } } },
        ],
      },
    },
    stopReason: 'tool_use',
    usage: { inputTokens: 120, outputTokens: 33, totalTokens: 153 },
    metrics: { latencyMs: 812 },
  },
};

const chunk = (type: string, payload: unknown) =>
  encodeEventStreamMessage(
    { ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' },
    Buffer.from(JSON.stringify(payload)),
  );

export function bedrockConverseStream(): Buffer {
  return Buffer.concat([
    chunk('messageStart', { role: 'assistant', p: 'abc' }),
    chunk('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' }, p: 'a' }),
    chunk('contentBlockStop', { contentBlockIndex: 0, p: 'a' }),
    chunk('contentBlockStart', {
      contentBlockIndex: 1,
      start: { toolUse: { toolUseId: 't2', name: 'weather' } },
      p: 'a',
    }),
    chunk('contentBlockStop', { contentBlockIndex: 1, p: 'a' }),
    chunk('messageStop', { stopReason: 'tool_use', p: 'a' }),
    chunk('metadata', {
      usage: { inputTokens: 61, outputTokens: 19, totalTokens: 80, cacheReadInputTokens: 40 },
      metrics: { latencyMs: 400 },
      p: 'a',
    }),
  ]);
}

/** InvokeModelWithResponseStream with an Anthropic model: base64 model chunks. */
export function bedrockInvokeStream(): Buffer {
  const b = (o: unknown) => chunk('chunk', { bytes: Buffer.from(JSON.stringify(o)).toString('base64') });
  return Buffer.concat([
    b({
      type: 'message_start',
      message: { model: 'claude-3-haiku', usage: { input_tokens: 14, output_tokens: 1 } },
    }),
    b({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Yo' } }),
    b({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 6 } }),
    b({
      type: 'message_stop',
      'amazon-bedrock-invocationMetrics': {
        inputTokenCount: 14,
        outputTokenCount: 6,
        invocationLatency: 500,
        firstByteLatency: 200,
      },
    }),
  ]);
}

export function bedrockThrottledStream(): Buffer {
  return Buffer.concat([
    chunk('messageStart', { role: 'assistant' }),
    encodeEventStreamMessage(
      {
        ':exception-type': 'throttlingException',
        ':content-type': 'application/json',
        ':message-type': 'exception',
      },
      Buffer.from(JSON.stringify({ message: 'Too many requests' })),
    ),
  ]);
}
