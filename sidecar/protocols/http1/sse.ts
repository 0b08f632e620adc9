/**
 * Server-Sent Events (WHATWG HTML §9.2) parsed incrementally as body bytes arrive, so a
 * streaming LLM response yields its events with their arrival times. Only the partial
 * line is buffered, and it is bounded.
 */

const LF = 0x0a;
const CR = 0x0d;

export interface SseEvent {
  event?: string;
  data: string;
  atMs: number;
}

export class SseParser {
  readonly events: SseEvent[] = [];
  /** True when events or a line had to be dropped to stay within the bounds. */
  truncated = false;
  private line: Buffer[] = [];
  private lineBytes = 0;
  private lastWasCr = false;
  private eventType: string | undefined = undefined;
  private data: string[] = [];
  private keptBytes = 0;
  private readonly maxLineBytes: number;
  private readonly maxKeptBytes: number;
  private bomChecked = false;

  constructor(maxLineBytes: number, maxKeptBytes: number) {
    this.maxLineBytes = maxLineBytes;
    this.maxKeptBytes = maxKeptBytes;
  }

  push(chunk: Buffer, tsMs: number): void {
    let start = 0;
    if (!this.bomChecked && chunk.length > 0) {
      this.bomChecked = true;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    }
    for (let i = start; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== LF && b !== CR) continue;
      if (b === LF && this.lastWasCr && i === start) {
        // The LF of a CRLF split across chunks.
        this.lastWasCr = false;
        start = i + 1;
        continue;
      }
      this.appendLine(chunk.subarray(start, i));
      this.takeLine(tsMs);
      this.lastWasCr = b === CR;
      if (b === CR && i + 1 < chunk.length && chunk[i + 1] === LF) {
        i++;
        this.lastWasCr = false;
      }
      start = i + 1;
    }
    if (start < chunk.length) {
      if (this.lastWasCr && chunk[start] === LF) start++;
      this.lastWasCr = false;
      this.appendLine(chunk.subarray(start));
    }
  }

  private appendLine(part: Buffer): void {
    if (part.length === 0) return;
    if (this.lineBytes + part.length > this.maxLineBytes) {
      this.truncated = true;
      const room = this.maxLineBytes - this.lineBytes;
      if (room <= 0) return;
      part = part.subarray(0, room);
    }
    this.line.push(Buffer.from(part));
    this.lineBytes += part.length;
  }

  private takeLine(tsMs: number): void {
    const text =
      this.line.length === 0
        ? ''
        : this.line.length === 1
          ? this.line[0]!.toString('utf8')
          : Buffer.concat(this.line).toString('utf8');
    this.line = [];
    this.lineBytes = 0;
    if (text === '') {
      this.dispatch(tsMs);
      return;
    }
    if (text.charCodeAt(0) === 0x3a) return; // ':' comment
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.eventType = value;
  }

  private dispatch(tsMs: number): void {
    if (this.data.length === 0) {
      this.eventType = undefined;
      return;
    }
    const data = this.data.join('\n');
    this.data = [];
    const type = this.eventType;
    this.eventType = undefined;
    if (this.keptBytes + data.length > this.maxKeptBytes) {
      this.truncated = true;
      return;
    }
    this.keptBytes += data.length;
    this.events.push(type === undefined ? { data, atMs: tsMs } : { event: type, data, atMs: tsMs });
  }

  /** End of body: a final event without its blank line still counts. */
  end(tsMs: number): void {
    if (this.lineBytes > 0) this.takeLine(tsMs);
    this.dispatch(tsMs);
  }
}
