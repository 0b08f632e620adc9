/** Hand-made HTTP Transactions for extraction tests. */
import type { Payload, Transaction } from '../../protocols/types.ts';
import { parseSseText } from '../sse.ts';

export interface TxSpec {
  method?: string;
  host?: string;
  path: string;
  requestHeaders?: Record<string, string>;
  request?: unknown;
  status?: number;
  responseHeaders?: Record<string, string>;
  /** A JSON value, SSE text (with content-type text/event-stream) or raw bytes. */
  response?: unknown;
  contentType?: string;
  /** Event arrival times relative to startMs (SSE only). */
  eventTimes?: number[];
  startMs?: number;
}

export function httpTx(s: TxSpec): Transaction {
  const startMs = s.startMs ?? 1_000_000;
  const contentType =
    s.contentType ??
    (typeof s.response === 'string'
      ? 'text/event-stream'
      : Buffer.isBuffer(s.response)
        ? 'application/octet-stream'
        : 'application/json');
  const reqBody =
    s.request === undefined
      ? undefined
      : Buffer.from(typeof s.request === 'string' ? s.request : JSON.stringify(s.request));
  const resBody =
    s.response === undefined
      ? undefined
      : Buffer.isBuffer(s.response)
        ? s.response
        : Buffer.from(typeof s.response === 'string' ? s.response : JSON.stringify(s.response));
  const reqHeaders: Record<string, string> = {
    host: s.host ?? 'api.openai.com',
    'content-type': 'application/json',
    ...s.requestHeaders,
  };
  const resHeaders: Record<string, string> = { 'content-type': contentType, ...s.responseHeaders };
  const response: Payload = { headers: resHeaders, contentType, firstByteMs: startMs + 100 };
  if (resBody !== undefined) response.body = resBody;
  if (contentType.startsWith('text/event-stream') && typeof s.response === 'string') {
    response.events = parseSseText(s.response).map((e, i) => ({
      ...e,
      atMs: startMs + (s.eventTimes?.[i] ?? 100 + i * 10),
    }));
  }
  const request: Payload = { headers: reqHeaders, contentType: 'application/json' };
  if (reqBody !== undefined) request.body = reqBody;
  return {
    protocol: 'http',
    startMs,
    endMs: startMs + 1500,
    requestBytes: reqBody?.length ?? 0,
    responseBytes: resBody?.length ?? 0,
    complete: true,
    status: s.status ?? 200,
    http: {
      method: s.method ?? 'POST',
      path: s.path,
      host: reqHeaders.host,
      statusCode: s.status ?? 200,
      requestHeaders: reqHeaders,
      responseHeaders: resHeaders,
    },
    request,
    response,
  };
}
