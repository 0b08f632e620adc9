/**
 * One MySQL / MariaDB connection: handshake (capabilities decide EOF vs OK terminators,
 * metadata caching, compression, TLS), then strict command/response: each client command
 * (sequence 0) is answered in order, so a queue of commands pairs every response. A small
 * state machine per command walks result sets (column count, column definitions, rows,
 * terminator) and follows SERVER_MORE_RESULTS_EXISTS through multi-statement batches.
 */
import type { DbInfo } from '../../signal/types.ts';
import type { Anchor } from '../framing.ts';
import { analyzeSql } from '../sql/index.ts';
import {
  NOT_PARSED_COMPRESSED,
  NOT_PARSED_TLS,
  type ProtocolSession,
  type SessionContext,
  type Side,
  type Transaction,
} from '../types.ts';
import * as M from './constants.ts';
import { MysqlFramer } from './framer.ts';

export interface MysqlOptions {
  /** `normalized` (literals → `?`, the default) or `full` statement text in signals. */
  statements: 'normalized' | 'full';
}

const MAX_PENDING = 256;
const MAX_STATEMENTS = 1024;

// Connection phases.
const P_GREETING = 0;
const P_AUTH = 1;
const P_COMMAND = 2;
const P_STOPPED = 3;

// Response states of the command at the head of the queue.
const R_FIRST = 0;
const R_COLUMN_DEFS = 1;
const R_COLUMNS_EOF = 2;
const R_ROWS = 3;
const R_PREPARE_PARAMS = 4;
const R_PREPARE_PARAMS_EOF = 5;
const R_PREPARE_COLUMNS = 6;
const R_PREPARE_COLUMNS_EOF = 7;
const R_INFILE = 8;
const R_FIELD_LIST = 9;

interface Command {
  cmd: number;
  sql: string | undefined;
  startMs: number;
  requestBytes: number;
  responseBytes: number;
  state: number;
  /** Column/param definitions still to come in the current block. */
  left: number;
  prepareColumns: number;
  stmtId: number;
  rows: number;
  affected: number;
  sawRows: boolean;
  errorCode: string | undefined;
  errorMessage: string | undefined;
  complete: boolean;
}

/** Reads a length-encoded integer at `at`; undefined when it runs past the end. */
export function readLenenc(buf: Buffer, at: number): { value: number; next: number } | undefined {
  const b = buf[at];
  if (b === undefined) return undefined;
  if (b < 0xfb) return { value: b, next: at + 1 };
  if (b === 0xfc) return at + 3 <= buf.length ? { value: buf.readUInt16LE(at + 1), next: at + 3 } : undefined;
  if (b === 0xfd)
    return at + 4 <= buf.length ? { value: buf.readUIntLE(at + 1, 3), next: at + 4 } : undefined;
  if (b === 0xfe)
    return at + 9 <= buf.length ? { value: Number(buf.readBigUInt64LE(at + 1)), next: at + 9 } : undefined;
  return undefined;
}

/** ERR packet: 0xff, errno(2), ['#' sqlstate(5)], message. */
export function parseErr(p: Buffer): { errno: number; sqlState?: string; message: string } {
  const errno = p.length >= 3 ? p.readUInt16LE(1) : 0;
  if (p[3] === 0x23 /* # */ && p.length >= 9) {
    return { errno, sqlState: p.toString('latin1', 4, 9), message: p.toString('utf8', 9) };
  }
  return { errno, message: p.toString('utf8', 3) };
}

/** OK packet (header 0x00 or 0xfe): affected rows and status flags. */
function parseOk(p: Buffer): { affected: number; status: number } {
  const a = readLenenc(p, 1);
  const id = a === undefined ? undefined : readLenenc(p, a.next);
  const status = id !== undefined && id.next + 2 <= p.length ? p.readUInt16LE(id.next) : 0;
  return { affected: a?.value ?? 0, status };
}

/** EOF packet (0xfe, warnings(2), status(2)) when protocol 41. */
function eofStatus(p: Buffer): number {
  return p.length >= 5 ? p.readUInt16LE(3) : 0;
}

const clientAnchor: Anchor = (buf, at) => {
  if (buf.length - at < 5) return 'more';
  const len = buf.readUIntLE(at, 3);
  if (buf[at + 3] !== 0 || len === 0 || len > 1 << 20 || !M.RESYNC_COMMANDS.has(buf[at + 4]!)) return 'no';
  return 'yes';
};

/** A server resync point: the one-byte column count packet or a short OK/ERR, sequence 1. */
const serverAnchor: Anchor = (buf, at) => {
  if (buf.length - at < 5) return 'more';
  const len = buf.readUIntLE(at, 3);
  if (buf[at + 3] !== 1) return 'no';
  const first = buf[at + 4]!;
  if (len === 1 && first > 0 && first < 0xfb) return 'yes';
  if (first === M.OK_HEADER && len >= 7 && len < 256) return 'yes';
  if (first === M.ERR_HEADER && len >= 9 && len < 1024 && buf[at + 7] === 0x23) return 'yes';
  return 'no';
};

export class MysqlSession implements ProtocolSession {
  private readonly ctx: SessionContext;
  private readonly full: boolean;
  private readonly client: MysqlFramer;
  private readonly server: MysqlFramer;
  private phase = P_GREETING;
  private serverCaps = 0;
  private serverExtCaps = 0;
  /** Negotiated capabilities (client ∩ server). */
  caps = 0;
  private extCaps = 0;
  serverVersion: string | undefined;
  /** Why parsing stopped: the connection switched to TLS or to the compressed protocol. */
  notParsed: 'tls' | 'compressed' | undefined;
  private readonly pending: Command[] = [];
  private readonly statements = new Map<number, string>();
  /** The previous client/server packet had the maximum length: this one continues it. */
  private clientContinues = false;
  private serverContinues = false;
  private nowMs = 0;

  constructor(ctx: SessionContext, options: MysqlOptions = { statements: 'normalized' }) {
    this.ctx = ctx;
    this.full = options.statements === 'full';
    const onDropped = (reason: string, bytes: number): void => ctx.counters.dropped('mysql', reason, bytes);
    const maxPayload = ctx.limits.maxMessageBytes;
    this.client = new MysqlFramer({ maxPayload, anchor: clientAnchor, onDropped });
    this.server = new MysqlFramer({ maxPayload, anchor: serverAnchor, onDropped });
    if (ctx.conn.midstream) this.joinMidway();
  }

  /** Capabilities unknown: assume a modern client (protocol 41, EOF deprecated unknown). */
  private joinMidway(): void {
    this.phase = P_COMMAND;
    this.caps = M.CLIENT_PROTOCOL_41 | M.CLIENT_MULTI_RESULTS;
    this.client.lose();
    this.server.lose();
  }

  onData(side: Side, chunk: Buffer, tsMs: number): void {
    if (this.phase === P_STOPPED) return;
    this.nowMs = tsMs;
    if (side === 'client') this.client.push(chunk, this.onClientPacket);
    else this.server.push(chunk, this.onServerPacket);
  }

  onGap(_side: Side, _bytes: number, tsMs: number): void {
    if (this.phase === P_STOPPED) return;
    this.nowMs = tsMs;
    this.flush(tsMs);
    this.clientContinues = false;
    this.serverContinues = false;
    this.client.lose();
    this.server.lose();
    if (this.phase !== P_COMMAND) this.phase = P_COMMAND;
  }

  onClose(tsMs: number): void {
    this.flush(tsMs);
  }

  private stop(reason: 'tls' | 'compressed'): void {
    this.notParsed = reason;
    this.phase = P_STOPPED;
    this.client.stopped = true;
    this.server.stopped = true;
    this.ctx.counters.notParsed('mysql', reason === 'tls' ? NOT_PARSED_TLS : NOT_PARSED_COMPRESSED);
    this.ctx.log.info(
      { conn: this.ctx.conn.id, reason },
      reason === 'tls'
        ? 'mysql connection switched to TLS; the rest is not parsed'
        : 'mysql connection uses the compressed protocol; not parsed',
    );
    if (reason === 'tls') {
      try {
        this.ctx.switchProtocol('tls');
      } catch (err) {
        this.ctx.log.debug({ err }, 'mysql: no TLS handler for the switched connection');
      }
    }
  }

  private readonly onClientPacket = (seq: number, p: Buffer, length: number, whole: boolean): void => {
    const size = length + 4;
    const continues = this.clientContinues;
    this.clientContinues = length === M.MAX_PACKET_PAYLOAD;
    if (this.phase === P_GREETING) {
      // A client speaking first: we joined after the greeting.
      this.phase = P_COMMAND;
    }
    if (this.phase === P_AUTH) {
      if (seq === 1 && this.caps === 0 && p.length >= 4) this.onHandshakeResponse(p, length);
      return;
    }
    if (continues || seq !== 0 || p.length === 0) {
      // LOCAL INFILE data, a continuation, or the second packet of a long command.
      const head = this.pending[0];
      if (head !== undefined) head.requestBytes += size;
      return;
    }
    const cmd = p[0]!;
    if (cmd === M.COM_STMT_CLOSE) {
      if (p.length >= 5) this.statements.delete(p.readUInt32LE(1));
      return;
    }
    if (M.NO_RESPONSE_COMMANDS.has(cmd)) return;
    let sql: string | undefined;
    let stmtId = -1;
    if (cmd === M.COM_QUERY || cmd === M.COM_STMT_PREPARE) {
      if (whole) sql = this.queryText(p, cmd === M.COM_QUERY);
      else this.ctx.counters.dropped('mysql', 'statement-too-large', length);
    } else if (cmd === M.COM_STMT_EXECUTE && p.length >= 5) {
      stmtId = p.readUInt32LE(1);
      sql = this.statements.get(stmtId);
    } else if (cmd === M.COM_CHANGE_USER) {
      this.phase = P_AUTH;
    }
    if (this.pending.length >= MAX_PENDING) {
      this.pending.shift();
      this.ctx.counters.dropped('mysql', 'pending-queue-full', 0);
    }
    this.pending.push({
      cmd,
      sql,
      startMs: this.nowMs,
      requestBytes: size,
      responseBytes: 0,
      state: R_FIRST,
      left: 0,
      prepareColumns: 0,
      stmtId,
      rows: 0,
      affected: 0,
      sawRows: false,
      errorCode: undefined,
      errorMessage: undefined,
      complete: true,
    });
  };

  /** COM_QUERY text; with query attributes negotiated a parameter block comes first. */
  private queryText(p: Buffer, isQuery: boolean): string | undefined {
    let at = 1;
    if (isQuery && (this.caps & M.CLIENT_QUERY_ATTRIBUTES) !== 0) {
      const count = readLenenc(p, at);
      const sets = count === undefined ? undefined : readLenenc(p, count.next);
      if (count === undefined || sets === undefined) return undefined;
      // Attribute values are not needed; a statement with attributes is reported without text.
      if (count.value !== 0) return undefined;
      at = sets.next;
    }
    return p.toString('utf8', at);
  }

  private onGreeting(p: Buffer): void {
    if (p[0] === M.ERR_HEADER) {
      this.phase = P_STOPPED;
      return;
    }
    if (p[0] !== M.PROTOCOL_VERSION_10) {
      this.ctx.counters.parseError('mysql', 'unsupported-handshake');
      this.phase = P_STOPPED;
      return;
    }
    const vEnd = p.indexOf(0, 1);
    if (vEnd < 0) return;
    this.serverVersion = p.toString('latin1', 1, vEnd);
    // conn id(4) auth-data-1(8) filler(1) caps-low(2) charset(1) status(2) caps-high(2) len(1) reserved(10)
    const at = vEnd + 1 + 4 + 8 + 1;
    if (p.length >= at + 2) this.serverCaps = p.readUInt16LE(at);
    if (p.length >= at + 7) this.serverCaps |= p.readUInt16LE(at + 5) << 16;
    this.serverCaps >>>= 0;
    // MariaDB drops CLIENT_LONG_PASSWORD ("CLIENT_MYSQL") and puts extended caps in reserved bytes.
    if ((this.serverCaps & M.CLIENT_LONG_PASSWORD) === 0 && p.length >= at + 18) {
      this.serverExtCaps = p.readUInt32LE(at + 14);
    }
    this.phase = P_AUTH;
  }

  private onHandshakeResponse(p: Buffer, length: number): void {
    const clientCaps = p.readUInt32LE(0);
    this.caps = (clientCaps & (this.serverCaps || 0xffffffff)) >>> 0;
    if (length >= 32 && (this.serverCaps & M.CLIENT_LONG_PASSWORD) === 0) {
      this.extCaps = p.readUInt32LE(28) & this.serverExtCaps;
    }
    // The short (32-byte) response with CLIENT_SSL is an SSLRequest: TLS follows.
    if ((clientCaps & M.CLIENT_SSL) !== 0 && length === 32) this.stop('tls');
  }

  private readonly onServerPacket = (seq: number, p: Buffer, length: number, _whole: boolean): void => {
    const size = length + 4;
    const continues = this.serverContinues;
    this.serverContinues = length === M.MAX_PACKET_PAYLOAD;
    if (this.phase === P_GREETING) {
      if (seq === 0) this.onGreeting(p);
      return;
    }
    if (this.phase === P_AUTH) {
      const first = p[0];
      if (first === M.OK_HEADER) {
        this.phase = P_COMMAND;
        if ((this.caps & (M.CLIENT_COMPRESS | M.CLIENT_ZSTD_COMPRESSION)) !== 0) this.stop('compressed');
        const head = this.pending[0];
        if (head?.cmd === M.COM_CHANGE_USER) this.pending.shift();
      } else if (first === M.ERR_HEADER) {
        const err = parseErr(p);
        this.ctx.log.debug({ conn: this.ctx.conn.id, errno: err.errno }, 'mysql: authentication failed');
        const head = this.pending[0];
        if (head?.cmd === M.COM_CHANGE_USER) this.pending.shift();
        this.phase = P_COMMAND;
      }
      return;
    }
    const c = this.pending[0];
    if (c === undefined) return;
    c.responseBytes += size;
    if (continues) return;
    this.step(c, p, length);
  };

  private get deprecateEof(): boolean {
    return (this.caps & M.CLIENT_DEPRECATE_EOF) !== 0;
  }

  /** Advances the head command's response state by one server packet. */
  private step(c: Command, p: Buffer, length: number): void {
    const first = p[0];
    switch (c.state) {
      case R_FIRST: {
        if (first === M.ERR_HEADER) {
          const err = parseErr(p);
          if (err.errno === M.PROGRESS_REPORT_ERRNO) return;
          c.errorCode = String(err.errno);
          c.errorMessage = err.message;
          this.done(c);
          return;
        }
        if (c.cmd === M.COM_STATISTICS) {
          this.done(c);
          return;
        }
        if (c.cmd === M.COM_FIELD_LIST) {
          c.state = R_FIELD_LIST;
          this.step(c, p, length);
          return;
        }
        if (first === M.OK_HEADER || (first === M.EOF_HEADER && length < 9)) {
          if (c.cmd === M.COM_STMT_PREPARE) {
            this.onPrepareOk(c, p);
            return;
          }
          const ok = first === M.OK_HEADER ? parseOk(p) : { affected: 0, status: eofStatus(p) };
          c.affected += ok.affected;
          if ((ok.status & M.SERVER_MORE_RESULTS_EXISTS) === 0) this.done(c);
          return;
        }
        if (first === M.LOCAL_INFILE_HEADER) {
          c.state = R_INFILE;
          return;
        }
        if (c.cmd !== M.COM_QUERY && c.cmd !== M.COM_STMT_EXECUTE && c.cmd !== M.COM_STMT_FETCH) {
          // A one-packet answer we do not model (EOF for SET_OPTION, etc).
          this.done(c);
          return;
        }
        if (c.cmd === M.COM_STMT_FETCH) {
          c.state = R_ROWS;
          this.step(c, p, length);
          return;
        }
        const count = readLenenc(p, 0);
        if (count === undefined) {
          this.protocolError(c, 'bad-column-count');
          return;
        }
        c.sawRows = true;
        c.left = count.value;
        let metadataFollows = true;
        if ((this.extCaps & M.MARIADB_CLIENT_CACHE_METADATA) !== 0 && count.next < p.length) {
          metadataFollows = p[count.next] !== 0;
        }
        if (!metadataFollows || c.left === 0)
          c.state = this.deprecateEof || !metadataFollows ? R_ROWS : R_COLUMNS_EOF;
        else c.state = R_COLUMN_DEFS;
        return;
      }
      case R_COLUMN_DEFS:
        if (--c.left === 0) c.state = this.deprecateEof ? R_ROWS : R_COLUMNS_EOF;
        return;
      case R_COLUMNS_EOF: {
        if (first === M.ERR_HEADER) {
          this.fail(c, p);
          return;
        }
        const status = eofStatus(p);
        // A cursor was opened: rows come later through COM_STMT_FETCH.
        if (c.cmd === M.COM_STMT_EXECUTE && (status & M.SERVER_STATUS_CURSOR_EXISTS) !== 0) this.done(c);
        else c.state = R_ROWS;
        return;
      }
      case R_ROWS: {
        if (first === M.ERR_HEADER) {
          this.fail(c, p);
          return;
        }
        if (first === M.EOF_HEADER && (this.deprecateEof ? length < M.MAX_PACKET_PAYLOAD : length < 9)) {
          const status = length < 9 && !this.deprecateEof ? eofStatus(p) : parseOk(p).status;
          if ((status & M.SERVER_MORE_RESULTS_EXISTS) !== 0 && c.cmd !== M.COM_STMT_FETCH) c.state = R_FIRST;
          else this.done(c);
          return;
        }
        c.rows++;
        return;
      }
      case R_PREPARE_PARAMS:
        if (--c.left === 0) this.afterPrepareParams(c, true);
        return;
      case R_PREPARE_PARAMS_EOF:
        this.afterPrepareParams(c, false);
        return;
      case R_PREPARE_COLUMNS:
        if (--c.left === 0) {
          if (this.deprecateEof) this.done(c);
          else c.state = R_PREPARE_COLUMNS_EOF;
        }
        return;
      case R_PREPARE_COLUMNS_EOF:
        this.done(c);
        return;
      case R_INFILE:
        if (first === M.ERR_HEADER) {
          this.fail(c, p);
          return;
        }
        if (first === M.OK_HEADER) {
          const ok = parseOk(p);
          c.affected += ok.affected;
          if ((ok.status & M.SERVER_MORE_RESULTS_EXISTS) !== 0) c.state = R_FIRST;
          else this.done(c);
        }
        return;
      case R_FIELD_LIST:
        if (first === M.ERR_HEADER) {
          this.fail(c, p);
          return;
        }
        if (first === M.EOF_HEADER && length < 9) this.done(c);
        return;
      default:
        return;
    }
  }

  private onPrepareOk(c: Command, p: Buffer): void {
    if (p.length < 9) {
      this.protocolError(c, 'bad-prepare-ok');
      return;
    }
    const id = p.readUInt32LE(1);
    const columns = p.readUInt16LE(5);
    const params = p.readUInt16LE(7);
    if (c.sql !== undefined) {
      this.statements.delete(id);
      if (this.statements.size >= MAX_STATEMENTS) {
        const oldest = this.statements.keys().next();
        if (oldest.done !== true) this.statements.delete(oldest.value);
        this.ctx.counters.dropped('mysql', 'statement-cache-full', 0);
      }
      this.statements.set(id, c.sql);
    }
    c.stmtId = id;
    c.prepareColumns = columns;
    let metadataFollows = true;
    if ((this.extCaps & M.MARIADB_CLIENT_CACHE_METADATA) !== 0 && p.length >= 13)
      metadataFollows = p[12] !== 0;
    if (!metadataFollows) {
      this.done(c);
      return;
    }
    if (params > 0) {
      c.left = params;
      c.state = R_PREPARE_PARAMS;
    } else {
      this.afterPrepareParams(c, false);
    }
  }

  /** After the parameter definitions (and their EOF, unless deprecated) come the columns. */
  private afterPrepareParams(c: Command, paramsJustEnded: boolean): void {
    if (paramsJustEnded && !this.deprecateEof) {
      c.state = R_PREPARE_PARAMS_EOF;
      return;
    }
    if (c.prepareColumns > 0) {
      c.left = c.prepareColumns;
      c.state = R_PREPARE_COLUMNS;
    } else {
      this.done(c);
    }
  }

  private fail(c: Command, p: Buffer): void {
    const err = parseErr(p);
    if (err.errno === M.PROGRESS_REPORT_ERRNO) return;
    c.errorCode = String(err.errno);
    c.errorMessage = err.message;
    this.done(c);
  }

  private protocolError(c: Command, code: string): void {
    this.ctx.counters.parseError('mysql', code);
    c.complete = false;
    this.done(c);
  }

  private done(c: Command): void {
    if (this.pending[0] === c) this.pending.shift();
    const report =
      c.cmd === M.COM_QUERY ||
      c.cmd === M.COM_STMT_EXECUTE ||
      (c.cmd === M.COM_STMT_PREPARE && c.errorCode !== undefined);
    if (report) this.emit(c, this.nowMs);
  }

  private flush(tsMs: number): void {
    for (const c of this.pending) {
      if (c.cmd === M.COM_QUERY || c.cmd === M.COM_STMT_EXECUTE) {
        c.complete = false;
        this.emit(c, tsMs);
      }
    }
    this.pending.length = 0;
  }

  private emit(c: Command, endMs: number): void {
    const db: DbInfo = { system: 'mysql' };
    let operation: string | undefined;
    if (c.sql !== undefined) {
      const info = analyzeSql(c.sql, { dialect: 'mysql' });
      db.statement = this.full ? c.sql : info.normalized;
      operation = info.operation;
      if (info.table !== undefined) db.table = info.table;
    }
    if (operation !== undefined) db.operation = operation;
    if (c.complete && c.errorCode === undefined) {
      if (c.sawRows) db.rows = c.rows;
      else db.rows = c.affected;
    }
    if (c.errorCode !== undefined) {
      db.errorCode = c.errorCode;
      if (c.errorMessage !== undefined) db.errorMessage = c.errorMessage;
    }
    const tx: Transaction = {
      protocol: 'mysql',
      startMs: c.startMs,
      endMs,
      requestBytes: c.requestBytes,
      responseBytes: c.responseBytes,
      complete: c.complete,
      db,
    };
    if (operation !== undefined) tx.operation = operation;
    if (c.errorCode !== undefined) tx.status = c.errorCode;
    else if (c.complete) tx.status = 'ok';
    this.ctx.emit(tx);
  }
}
