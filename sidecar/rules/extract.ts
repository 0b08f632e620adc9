/**
 * `extract` entries compiled to value readers: a number from a JSON body (JSONPath), a
 * header, or a regex's first capture group, read lazily from the transaction's payloads.
 * Bodies are decoded and parsed at most once per transaction, and only when some matching
 * rule reads them.
 */
import { compileJsonPath } from '../../lib/policy/jsonpath.ts';
import type { Extract } from '../../lib/policy/types.ts';
import type { Payload, Transaction } from '../protocols/types.ts';

/** Per-transaction cache of decoded bodies; one per apply, created on first use. */
export class PayloadView {
  readonly tx: Transaction;
  #text: [string | undefined, string | undefined] = [undefined, undefined];
  #json: [unknown, unknown] = [undefined, undefined];
  #parsed: [boolean, boolean] = [false, false];
  #events: [unknown[] | undefined, unknown[] | undefined] = [undefined, undefined];

  constructor(tx: Transaction) {
    this.tx = tx;
  }

  payload(side: 0 | 1): Payload | undefined {
    return side === 0 ? this.tx.request : this.tx.response;
  }

  text(side: 0 | 1): string | undefined {
    if (this.#text[side] === undefined) {
      const p = this.payload(side);
      if (p?.body !== undefined) this.#text[side] = p.body.toString('utf8');
      else if (p?.events !== undefined) this.#text[side] = p.events.map((e) => e.data).join('\n');
    }
    return this.#text[side];
  }

  /** The body as JSON, or undefined when it is not JSON (or was truncated mid-document). */
  json(side: 0 | 1): unknown {
    if (!this.#parsed[side]) {
      this.#parsed[side] = true;
      const p = this.payload(side);
      if (p?.body !== undefined && p.body.length > 0 && (p.events === undefined || p.events.length === 0)) {
        try {
          this.#json[side] = JSON.parse(p.body.toString('utf8'));
        } catch {
          this.#json[side] = undefined;
        }
      }
    }
    return this.#json[side];
  }

  /** Server-Sent Events whose data is JSON (streamed LLM responses), parsed once. */
  events(side: 0 | 1): unknown[] {
    let out = this.#events[side];
    if (out === undefined) {
      out = [];
      for (const e of this.payload(side)?.events ?? []) {
        const first = e.data.trimStart()[0];
        if (first !== '{' && first !== '[') continue;
        try {
          out.push(JSON.parse(e.data));
        } catch {
          // a non-JSON event (`[DONE]`) carries no values
        }
      }
      this.#events[side] = out;
    }
    return out;
  }
}

export type ValueReader = (view: PayloadView) => number | undefined;

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function headerValue(headers: Record<string, string> | undefined, lowerName: string): string | undefined {
  if (headers === undefined) return undefined;
  const direct = headers[lowerName];
  if (direct !== undefined) return direct;
  for (const k in headers) if (k.toLowerCase() === lowerName) return headers[k];
  return undefined;
}

/** Compiles how one extract reads its number; undefined reader means "count the match" (1). */
export function compileValueReader(ex: Extract): ValueReader | undefined {
  const side: 0 | 1 = ex.source === 'requestBody' || ex.source === 'requestHeaders' ? 0 : 1;
  if (ex.jsonPath !== undefined) {
    const path = compileJsonPath(ex.jsonPath);
    return (view) => {
      const doc = view.json(side);
      if (doc !== undefined) return toNumber(path.first(doc));
      // Streamed bodies: the last event that has the value wins (usage comes at the end).
      const events = view.events(side);
      for (let i = events.length - 1; i >= 0; i--) {
        const n = toNumber(path.first(events[i]));
        if (n !== undefined) return n;
      }
      return undefined;
    };
  }
  if (ex.header !== undefined) {
    const name = ex.header.toLowerCase();
    return (view) => {
      const raw = headerValue(view.payload(side)?.headers, name);
      return raw === undefined ? undefined : toNumber(raw);
    };
  }
  if (ex.regex !== undefined) {
    const re = new RegExp(ex.regex);
    const fromHeaders = ex.source === 'requestHeaders' || ex.source === 'responseHeaders';
    return (view) => {
      let text: string | undefined;
      if (fromHeaders) {
        const headers = view.payload(side)?.headers;
        text =
          headers === undefined
            ? undefined
            : Object.entries(headers)
                .map(([k, v]) => `${k}: ${v}`)
                .join('\n');
      } else text = view.text(side);
      if (text === undefined) return undefined;
      const m = re.exec(text);
      return m === null ? undefined : toNumber(m[1]);
    };
  }
  return undefined;
}
