/** Test fixtures: an HPACK encoder (with its own dynamic table) and a fluent HTTP/2 frame builder. */
import * as F from './frames.ts';
import type { HeaderList } from './hpack.ts';
import { STATIC_TABLE } from './hpack.ts';
import { huffmanEncode } from './huffman.ts';

function int(value: number, prefixBits: number, firstByte: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function str(s: string, huffman: boolean): number[] {
  const raw = huffman ? huffmanEncode(s) : Buffer.from(s, 'latin1');
  return [...int(raw.length, 7, huffman ? 0x80 : 0), ...raw];
}

export interface EncodeOptions {
  huffman?: boolean;
  /** `incremental` inserts into the table; `none`/`never` do not. */
  indexing?: 'incremental' | 'none' | 'never';
  /** Emit a dynamic table size update first. */
  sizeUpdate?: number;
}

export class HpackEncoder {
  private table: Array<[string, string]> = [];
  private size = 0;
  private max = 4096;

  encode(headers: HeaderList, opts: EncodeOptions = {}): Buffer {
    const out: number[] = [];
    const huffman = opts.huffman ?? true;
    if (opts.sizeUpdate !== undefined) {
      out.push(...int(opts.sizeUpdate, 5, 0x20));
      this.max = opts.sizeUpdate;
      this.evict(this.max);
    }
    for (const [name, value] of headers) {
      const all = [...STATIC_TABLE, ...this.table];
      const exact = all.findIndex(([n, v]) => n === name && v === value);
      if (exact >= 0) {
        out.push(...int(exact + 1, 7, 0x80));
        continue;
      }
      const nameIdx = all.findIndex(([n]) => n === name) + 1;
      const mode = opts.indexing ?? 'incremental';
      if (mode === 'incremental') out.push(...int(nameIdx, 6, 0x40));
      else out.push(...int(nameIdx, 4, mode === 'never' ? 0x10 : 0));
      if (nameIdx === 0) out.push(...str(name, huffman));
      out.push(...str(value, huffman));
      if (mode === 'incremental') {
        const sz = name.length + value.length + 32;
        this.evict(this.max - sz);
        if (sz <= this.max) {
          this.table.unshift([name, value]);
          this.size += sz;
        }
      }
    }
    return Buffer.from(out);
  }

  private evict(limit: number): void {
    while (this.size > limit && this.table.length > 0) {
      const [n, v] = this.table.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }
}

export interface HeadersOptions extends EncodeOptions {
  endStream?: boolean;
  /** Split the block into this many pieces: HEADERS + CONTINUATIONs. */
  pieces?: number;
  padding?: number;
  priority?: boolean;
}

export class H2Bytes {
  private readonly parts: Buffer[] = [];
  readonly encoder: HpackEncoder;

  constructor(encoder = new HpackEncoder()) {
    this.encoder = encoder;
  }

  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  frame(type: number, flags: number, stream: number, payload: Buffer): this {
    const h = Buffer.alloc(F.FRAME_HEADER);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(stream, 5);
    this.parts.push(h, payload);
    return this;
  }
  preface(): this {
    return this.raw(F.CONNECTION_PREFACE);
  }
  settings(pairs: Array<[number, number]> = [], ack = false): this {
    const p = Buffer.alloc(pairs.length * 6);
    pairs.forEach(([id, v], i) => {
      p.writeUInt16BE(id, i * 6);
      p.writeUInt32BE(v, i * 6 + 2);
    });
    return this.frame(F.T_SETTINGS, ack ? F.F_ACK : 0, 0, p);
  }
  headers(stream: number, headers: HeaderList, opts: HeadersOptions = {}): this {
    const block = this.encoder.encode(headers, opts);
    const pieces = Math.max(1, Math.min(opts.pieces ?? 1, block.length));
    const step = Math.ceil(block.length / pieces);
    for (let i = 0; i < pieces; i++) {
      let frag = block.subarray(i * step, (i + 1) * step);
      const last = i === pieces - 1 || (i + 1) * step >= block.length;
      let flags = last ? F.F_END_HEADERS : 0;
      if (i === 0) {
        if (opts.endStream === true) flags |= F.F_END_STREAM;
        if (opts.priority === true) {
          flags |= F.F_PRIORITY;
          frag = Buffer.concat([Buffer.from([0, 0, 0, 0, 16]), frag]);
        }
        if (opts.padding !== undefined) {
          flags |= F.F_PADDED;
          frag = Buffer.concat([Buffer.from([opts.padding]), frag, Buffer.alloc(opts.padding)]);
        }
      }
      this.frame(i === 0 ? F.T_HEADERS : F.T_CONTINUATION, flags, stream, frag);
      if (last) break;
    }
    return this;
  }
  data(stream: number, body: Buffer | string, opts: { endStream?: boolean; padding?: number } = {}): this {
    let payload = typeof body === 'string' ? Buffer.from(body) : body;
    let flags = opts.endStream === true ? F.F_END_STREAM : 0;
    if (opts.padding !== undefined) {
      flags |= F.F_PADDED;
      payload = Buffer.concat([Buffer.from([opts.padding]), payload, Buffer.alloc(opts.padding)]);
    }
    return this.frame(F.T_DATA, flags, stream, payload);
  }
  rst(stream: number, code: number): this {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(code);
    return this.frame(F.T_RST_STREAM, 0, stream, p);
  }
  goaway(last: number, code = 0): this {
    const p = Buffer.alloc(8);
    p.writeUInt32BE(last, 0);
    p.writeUInt32BE(code, 4);
    return this.frame(F.T_GOAWAY, 0, 0, p);
  }
  ping(): this {
    return this.frame(F.T_PING, 0, 0, Buffer.alloc(8));
  }
  windowUpdate(stream: number, inc: number): this {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(inc);
    return this.frame(F.T_WINDOW_UPDATE, 0, stream, p);
  }
  pushPromise(stream: number, promised: number, headers: HeaderList): this {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(promised);
    return this.frame(
      F.T_PUSH_PROMISE,
      F.F_END_HEADERS,
      stream,
      Buffer.concat([id, this.encoder.encode(headers)]),
    );
  }
  build(): Buffer {
    return Buffer.concat(this.parts.splice(0));
  }
}

/** gRPC length-prefixed message. */
export function grpcMessage(body: Buffer | string, compressed = false): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const h = Buffer.alloc(5);
  h[0] = compressed ? 1 : 0;
  h.writeUInt32BE(b.length, 1);
  return Buffer.concat([h, b]);
}
