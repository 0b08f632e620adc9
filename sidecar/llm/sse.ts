/**
 * Server-Sent Events for extraction. Parsers normally hand over `Payload.events` with arrival
 * times; when only the body was kept (another parser, a replay) the events are parsed here,
 * without times.
 */
import type { Payload } from '../protocols/types.ts';

export interface StreamEvent {
  event?: string;
  data: string;
  atMs?: number;
}

const MAX_EVENTS = 100_000;

export function parseSseText(text: string): StreamEvent[] {
  const out: StreamEvent[] = [];
  let event: string | undefined;
  let data: string[] = [];
  const flush = () => {
    if (data.length > 0 && out.length < MAX_EVENTS) {
      out.push(event === undefined ? { data: data.join('\n') } : { event, data: data.join('\n') });
    }
    event = undefined;
    data = [];
  };
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  }
  flush();
  return out;
}

export function isEventStream(p: Payload | undefined): boolean {
  const ct = p?.contentType ?? p?.headers?.['content-type'];
  return ct?.toLowerCase().startsWith('text/event-stream') === true;
}

/** The response's events: the parser's when it made them, else parsed from the body. */
export function responseEvents(p: Payload | undefined): StreamEvent[] | undefined {
  if (p === undefined) return undefined;
  if (p.events !== undefined && p.events.length > 0) return p.events;
  if (isEventStream(p) && p.body !== undefined) return parseSseText(p.body.toString('utf8'));
  return undefined;
}
