/** Test fixtures: a fluent PostgreSQL message builder and a session context that records. */
import { silentLogger } from '../../../lib/log.ts';
import type { ConnectionInfo, SessionContext, Transaction } from '../types.ts';

export class PgBytes {
  private readonly parts: Buffer[] = [];

  private msg(type: string, body: Buffer): this {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(body.length + 4, 1);
    this.parts.push(head, body);
    return this;
  }
  private static cstr(s: string): Buffer {
    return Buffer.from(`${s}\0`, 'utf8');
  }
  private static i16(n: number): Buffer {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return b;
  }
  private static i32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  }

  // client
  startup(params: Record<string, string>): this {
    const body = Buffer.concat([
      PgBytes.i32(196608),
      ...Object.entries(params).flatMap(([k, v]) => [PgBytes.cstr(k), PgBytes.cstr(v)]),
      Buffer.from([0]),
    ]);
    this.parts.push(PgBytes.i32(body.length + 4), body);
    return this;
  }
  sslRequest(): this {
    this.parts.push(PgBytes.i32(8), PgBytes.i32(80877103));
    return this;
  }
  gssencRequest(): this {
    this.parts.push(PgBytes.i32(8), PgBytes.i32(80877104));
    return this;
  }
  query(sql: string): this {
    return this.msg('Q', PgBytes.cstr(sql));
  }
  parse(name: string, sql: string): this {
    return this.msg('P', Buffer.concat([PgBytes.cstr(name), PgBytes.cstr(sql), PgBytes.i16(0)]));
  }
  bind(portal: string, stmt: string, params: string[] = []): this {
    const values = params.flatMap((p) => [PgBytes.i32(Buffer.byteLength(p)), Buffer.from(p)]);
    return this.msg(
      'B',
      Buffer.concat([
        PgBytes.cstr(portal),
        PgBytes.cstr(stmt),
        PgBytes.i16(0),
        PgBytes.i16(params.length),
        ...values,
        PgBytes.i16(0),
      ]),
    );
  }
  describe(what: 'S' | 'P', name: string): this {
    return this.msg('D', Buffer.concat([Buffer.from(what), PgBytes.cstr(name)]));
  }
  execute(portal: string, maxRows = 0): this {
    return this.msg('E', Buffer.concat([PgBytes.cstr(portal), PgBytes.i32(maxRows)]));
  }
  close(what: 'S' | 'P', name: string): this {
    return this.msg('C', Buffer.concat([Buffer.from(what), PgBytes.cstr(name)]));
  }
  sync(): this {
    return this.msg('S', Buffer.alloc(0));
  }
  copyData(data: string): this {
    return this.msg('d', Buffer.from(data));
  }
  copyDone(): this {
    return this.msg('c', Buffer.alloc(0));
  }
  terminate(): this {
    return this.msg('X', Buffer.alloc(0));
  }

  // server
  byte(c: string): this {
    this.parts.push(Buffer.from(c, 'latin1'));
    return this;
  }
  authOk(): this {
    return this.msg('R', PgBytes.i32(0));
  }
  parameterStatus(k: string, v: string): this {
    return this.msg('S', Buffer.concat([PgBytes.cstr(k), PgBytes.cstr(v)]));
  }
  ready(status: 'I' | 'T' | 'E' = 'I'): this {
    return this.msg('Z', Buffer.from(status));
  }
  rowDescription(columns: string[]): this {
    const cols = columns.map((c) => Buffer.concat([PgBytes.cstr(c), Buffer.alloc(18)]));
    return this.msg('T', Buffer.concat([PgBytes.i16(columns.length), ...cols]));
  }
  dataRow(values: string[]): this {
    const cols = values.flatMap((v) => [PgBytes.i32(Buffer.byteLength(v)), Buffer.from(v)]);
    return this.msg('D', Buffer.concat([PgBytes.i16(values.length), ...cols]));
  }
  commandComplete(tag: string): this {
    return this.msg('C', PgBytes.cstr(tag));
  }
  error(code: string, message: string): this {
    return this.msg(
      'E',
      Buffer.concat([Buffer.from('SERROR\0'), Buffer.from(`C${code}\0M${message}\0`), Buffer.from([0])]),
    );
  }
  parseComplete(): this {
    return this.msg('1', Buffer.alloc(0));
  }
  bindComplete(): this {
    return this.msg('2', Buffer.alloc(0));
  }
  noData(): this {
    return this.msg('n', Buffer.alloc(0));
  }
  emptyQuery(): this {
    return this.msg('I', Buffer.alloc(0));
  }
  copyInResponse(): this {
    return this.msg('G', Buffer.concat([Buffer.from([0]), PgBytes.i16(0)]));
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export const pg = (): PgBytes => new PgBytes();

export interface Recorder {
  ctx: SessionContext;
  txs: Transaction[];
  errors: string[];
  /** ParserCounters.notParsed reasons. */
  notParsed: string[];
  dropped: number;
  switched: string[];
}

export function recordingContext(conn: Partial<ConnectionInfo> = {}, maxMessageBytes = 1 << 20): Recorder {
  const rec: Recorder = {
    txs: [],
    errors: [],
    notParsed: [],
    dropped: 0,
    switched: [],
    ctx: undefined as unknown as SessionContext,
  };
  rec.ctx = {
    conn: {
      id: 'test',
      client: { ip: '127.0.0.1', port: 40000 },
      server: { ip: '127.0.0.1', port: 5432 },
      direction: 'outbound',
      midstream: false,
      ...conn,
    },
    limits: { maxBodyBytes: 64 * 1024, maxMessageBytes },
    counters: {
      parseError: (_p, code) => rec.errors.push(code),
      notParsed: (_p, reason) => rec.notParsed.push(reason),
      dropped: (_p, _r, bytes) => {
        rec.dropped += bytes;
      },
    },
    log: silentLogger,
    emit: (tx) => rec.txs.push(tx),
    switchProtocol: (name) => rec.switched.push(name),
  };
  return rec;
}
