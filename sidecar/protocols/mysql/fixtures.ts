/** Test fixtures: a fluent MySQL packet builder (sequence ids tracked per exchange). */
import * as M from './constants.ts';

export class MyBytes {
  private readonly parts: Buffer[] = [];
  private seq: number;

  constructor(seq = 0) {
    this.seq = seq;
  }

  packet(payload: Buffer): this {
    const h = Buffer.alloc(4);
    h.writeUIntLE(payload.length, 0, 3);
    h[3] = this.seq++ & 0xff;
    this.parts.push(h, payload);
    return this;
  }
  static lenenc(n: number): Buffer {
    if (n < 0xfb) return Buffer.from([n]);
    if (n < 0x10000) return Buffer.from([0xfc, n & 0xff, n >> 8]);
    const b = Buffer.alloc(4);
    b[0] = 0xfd;
    b.writeUIntLE(n, 1, 3);
    return b;
  }
  static lstr(s: string): Buffer {
    const b = Buffer.from(s);
    return Buffer.concat([MyBytes.lenenc(b.length), b]);
  }

  greeting(caps: number, version = '10.11.6-MariaDB', extCaps = 0): this {
    const head = Buffer.concat([Buffer.from([M.PROTOCOL_VERSION_10]), Buffer.from(`${version}\0`)]);
    const rest = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 13);
    let at = 4 + 8 + 1;
    rest.writeUInt16LE(caps & 0xffff, at);
    at += 2 + 1;
    rest.writeUInt16LE(2, at);
    at += 2;
    rest.writeUInt16LE(caps >>> 16, at);
    at += 2;
    rest[at] = 21;
    rest.writeUInt32LE(extCaps, at + 1 + 6);
    return this.packet(Buffer.concat([head, rest, Buffer.from('mysql_native_password\0')]));
  }
  handshakeResponse(caps: number, user = 'root'): this {
    const fixed = Buffer.alloc(32);
    fixed.writeUInt32LE(caps >>> 0, 0);
    fixed.writeUInt32LE(1 << 24, 4);
    fixed[8] = 33;
    return this.packet(Buffer.concat([fixed, Buffer.from(`${user}\0`), Buffer.from([0])]));
  }
  sslRequest(caps: number): this {
    const fixed = Buffer.alloc(32);
    fixed.writeUInt32LE((caps | M.CLIENT_SSL) >>> 0, 0);
    return this.packet(fixed);
  }
  command(cmd: number, body: Buffer | string = Buffer.alloc(0)): this {
    return this.packet(
      Buffer.concat([Buffer.from([cmd]), typeof body === 'string' ? Buffer.from(body) : body]),
    );
  }
  query(sql: string): this {
    return this.command(M.COM_QUERY, sql);
  }
  prepare(sql: string): this {
    return this.command(M.COM_STMT_PREPARE, sql);
  }
  execute(id: number): this {
    const b = Buffer.alloc(9);
    b.writeUInt32LE(id, 0);
    b.writeUInt32LE(1, 5);
    return this.command(M.COM_STMT_EXECUTE, b);
  }
  close(id: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(id, 0);
    return this.command(M.COM_STMT_CLOSE, b);
  }
  ok(affected = 0, status = 2, header = M.OK_HEADER): this {
    const s = Buffer.alloc(4);
    s.writeUInt16LE(status, 0);
    return this.packet(
      Buffer.concat([Buffer.from([header]), MyBytes.lenenc(affected), MyBytes.lenenc(0), s]),
    );
  }
  err(errno: number, state: string, message: string): this {
    const b = Buffer.alloc(3);
    b[0] = M.ERR_HEADER;
    b.writeUInt16LE(errno, 1);
    return this.packet(Buffer.concat([b, Buffer.from(`#${state}${message}`)]));
  }
  eof(status = 2): this {
    const b = Buffer.alloc(5);
    b[0] = M.EOF_HEADER;
    b.writeUInt16LE(status, 3);
    return this.packet(b);
  }
  columnCount(n: number): this {
    return this.packet(MyBytes.lenenc(n));
  }
  columnDef(name: string): this {
    return this.packet(
      Buffer.concat([
        MyBytes.lstr('def'),
        MyBytes.lstr('db'),
        MyBytes.lstr('t'),
        MyBytes.lstr('t'),
        MyBytes.lstr(name),
        MyBytes.lstr(name),
        Buffer.alloc(13),
      ]),
    );
  }
  row(values: string[]): this {
    return this.packet(Buffer.concat(values.map((v) => MyBytes.lstr(v))));
  }
  /** A result set terminated the way the negotiated capabilities say. */
  resultSet(columns: string[], rows: string[][], deprecateEof: boolean, status = 2): this {
    this.columnCount(columns.length);
    for (const c of columns) this.columnDef(c);
    if (!deprecateEof) this.eof(status);
    for (const r of rows) this.row(r);
    return deprecateEof ? this.ok(0, status, M.EOF_HEADER) : this.eof(status);
  }
  prepareOk(id: number, columns: number, params: number): this {
    const b = Buffer.alloc(12);
    b[0] = 0;
    b.writeUInt32LE(id, 1);
    b.writeUInt16LE(columns, 5);
    b.writeUInt16LE(params, 7);
    return this.packet(b);
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Packets of one exchange: the client's start at sequence 0, the server's at 1. */
export const client = (): MyBytes => new MyBytes(0);
export const server = (): MyBytes => new MyBytes(1);
