/**
 * One PostgreSQL connection: frames both directions, keeps the statement and portal names
 * the client declared, and pairs every server answer with the client message it answers.
 * The server answers in order, so a queue of what the client sent (Query, Parse, Bind,
 * Describe, Execute, Close, Sync) is all the correlation pipelining needs. One Transaction
 * per simple Query and per Execute; a failed Parse/Bind with no Execute after it is also
 * reported, because that is a statement the client saw fail.
 */
import type { DbInfo } from '../../signal/types.ts';
import type { Anchor } from '../framing.ts';
import { analyzeSql, type SqlInfo } from '../sql/index.ts';
import {
  NOT_PARSED_GSSAPI,
  NOT_PARSED_TLS,
  type ProtocolSession,
  type SessionContext,
  type Side,
  type Transaction,
} from '../types.ts';
import * as C from './constants.ts';
import { PgFramer, TYPE_SINGLE_BYTE, TYPE_STARTUP } from './framer.ts';

export interface PostgresOptions {
  /** `normalized` (literals → `?`, the default) or `full` statement text in signals. */
  statements: 'normalized' | 'full';
}

/** Bounds on per-connection state an untrusted peer could grow. */
const MAX_PENDING = 1024;
const MAX_STATEMENTS = 1024;
const MAX_PORTALS = 256;

const K_QUERY = 0;
const K_PARSE = 1;
const K_BIND = 2;
const K_DESCRIBE = 3;
const K_EXECUTE = 4;
const K_CLOSE = 5;
const K_SYNC = 6;
const K_FUNCTION = 7;

/** One client message awaiting its answer. Same shape for every kind (hot path). */
interface Pending {
  kind: number;
  /** Statement text: the Query, the Parse, or the one bound to the executed portal. */
  sql: string | undefined;
  startMs: number;
  requestBytes: number;
  responseBytes: number;
  tags: string[];
  rows: number;
  errorCode: string | undefined;
  errorMessage: string | undefined;
}

/** Phase of the connection as a whole. */
const P_STARTUP = 0;
const P_SSL_WAIT = 1;
const P_READY = 2;
const P_ENCRYPTED = 3;

/** `SELECT 5` → SELECT/5, `INSERT 0 3` → INSERT/3, `CREATE TABLE` → CREATE TABLE. */
export function parseCommandTag(tag: string): { operation: string; rows?: number } {
  const m = /^(.*?)(?: (\d+))?(?: (\d+))?$/.exec(tag);
  if (m === null) return { operation: tag };
  let operation = m[1]!;
  const last = m[3] ?? m[2];
  if (operation === 'INSERT' && m[3] === undefined && m[2] !== undefined) {
    return { operation, rows: Number(m[2]) };
  }
  if (last === undefined) return { operation };
  if (operation === '') operation = tag;
  return { operation, rows: Number(last) };
}

/** ErrorResponse body: (code byte, NUL-terminated text)* then NUL. */
export function parseErrorFields(body: Buffer): { code?: string; message?: string; severity?: string } {
  const out: { code?: string; message?: string; severity?: string } = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const field = body[i]!;
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    const value = body.toString('utf8', i + 1, end);
    if (field === C.FIELD_SQLSTATE) out.code = value;
    else if (field === C.FIELD_MESSAGE) out.message = value;
    else if (field === C.FIELD_SEVERITY) out.severity = value;
    i = end + 1;
  }
  return out;
}

/** NUL-terminated string at `at`, bounded by the message; undefined if unterminated. */
function cstring(body: Buffer, at: number): { value: string; next: number } | undefined {
  const end = body.indexOf(0, at);
  if (end < 0) return undefined;
  return { value: body.toString('utf8', at, end), next: end + 1 };
}

/** Client-side resync: a Query or Parse whose declared length ends exactly at a NUL. */
const clientAnchor: Anchor = (buf, at) => {
  const t = buf[at];
  if (t !== C.F_QUERY && t !== C.F_PARSE && t !== C.F_SYNC) return 'no';
  if (buf.length - at < 5) return 'more';
  const len = buf.readUInt32BE(at + 1);
  if (t === C.F_SYNC)
    return len === 4 ? (buf.length - at >= 6 ? (isFrontendType(buf[at + 5]!) ? 'yes' : 'no') : 'more') : 'no';
  if (len < 6 || len > 1 << 20) return 'no';
  if (buf.length - at < len + 1) return 'more';
  return buf[at + len] === 0 ? 'yes' : t === C.F_PARSE ? 'yes' : 'no';
};
const isFrontendType = (t: number): boolean => C.FRONTEND_TYPES.has(t);

/** Server-side resync: ReadyForQuery is `Z 00 00 00 05 I|T|E`, distinctive enough. */
const serverAnchor: Anchor = (buf, at) => {
  if (buf[at] !== C.B_READY_FOR_QUERY) return 'no';
  if (buf.length - at < 6) return 'more';
  if (buf.readUInt32BE(at + 1) !== 5) return 'no';
  const s = buf[at + 5];
  return s === C.TX_IDLE || s === C.TX_IN_BLOCK || s === C.TX_FAILED ? 'yes' : 'no';
};

const CLIENT_WANTS: ReadonlySet<number> = new Set([
  TYPE_STARTUP,
  C.F_QUERY,
  C.F_PARSE,
  C.F_BIND,
  C.F_DESCRIBE,
  C.F_EXECUTE,
  C.F_CLOSE,
]);
const SERVER_WANTS: ReadonlySet<number> = new Set([
  C.B_COMMAND_COMPLETE,
  C.B_ERROR_RESPONSE,
  C.B_READY_FOR_QUERY,
  C.B_AUTHENTICATION,
]);

export class PostgresSession implements ProtocolSession {
  private readonly ctx: SessionContext;
  private readonly full: boolean;
  private readonly client: PgFramer;
  private readonly server: PgFramer;
  private phase = P_STARTUP;
  private readonly pending: Pending[] = [];
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, string | undefined>();
  /** Client bytes since the last Execute/Query: the Parse/Bind that lead up to it. */
  private groupStartMs = -1;
  private groupBytes = 0;
  /** Inside COPY FROM STDIN: client CopyData belongs to the pending head. */
  private copyIn = false;
  /** ReadyForQuery's status: I (idle), T (in a transaction block), E (failed block). */
  transactionStatus: 'idle' | 'transaction' | 'failed' | undefined;
  /** Set when the connection switched to TLS (or GSS encryption) and is no longer parsed. */
  encrypted: 'tls' | 'gss' | undefined;
  private nowMs = 0;

  constructor(ctx: SessionContext, options: PostgresOptions = { statements: 'normalized' }) {
    this.ctx = ctx;
    this.full = options.statements === 'full';
    const maxBody = ctx.limits.maxMessageBytes;
    const onDropped = (reason: string, bytes: number): void =>
      ctx.counters.dropped('postgres', reason, bytes);
    this.client = new PgFramer({
      wants: (t) => CLIENT_WANTS.has(t),
      maxBody,
      anchor: clientAnchor,
      onError: (reason) => this.parseError('client', reason),
      onDropped,
    });
    this.server = new PgFramer({
      wants: (t) => SERVER_WANTS.has(t),
      maxBody,
      anchor: serverAnchor,
      onError: (reason) => this.parseError('server', reason),
      onDropped,
    });
    if (ctx.conn.midstream) {
      this.phase = P_READY;
      this.client.hunting = true;
      this.server.hunting = true;
    } else {
      this.client.startup = true;
    }
  }

  onData(side: Side, chunk: Buffer, tsMs: number): void {
    if (this.phase === P_ENCRYPTED) return;
    this.nowMs = tsMs;
    if (side === 'client') this.client.push(chunk, this.onClientMessage);
    else this.server.push(chunk, this.onServerMessage);
  }

  onGap(_side: Side, _bytes: number, tsMs: number): void {
    if (this.phase === P_ENCRYPTED) return;
    this.nowMs = tsMs;
    this.flushPending(tsMs, false);
    this.copyIn = false;
    this.phase = P_READY;
    // Both sides hunt: the answers on the other side no longer pair with anything we hold.
    this.client.lose();
    this.server.lose();
  }

  onClose(tsMs: number): void {
    this.flushPending(tsMs, false);
  }

  private parseError(side: Side, reason: string): void {
    this.ctx.counters.parseError('postgres', reason);
    this.ctx.log.debug(
      { conn: this.ctx.conn.id, side, reason },
      'postgres: malformed message, resynchronizing',
    );
    this.flushPending(this.nowMs, false);
    this.client.lose();
    this.server.lose();
  }

  private stopEncrypted(kind: 'tls' | 'gss'): void {
    this.encrypted = kind;
    this.phase = P_ENCRYPTED;
    this.client.stopped = true;
    this.server.stopped = true;
    this.ctx.counters.notParsed('postgres', kind === 'tls' ? NOT_PARSED_TLS : NOT_PARSED_GSSAPI);
    this.ctx.log.info(
      { conn: this.ctx.conn.id, encryption: kind },
      'postgres connection switched to encryption; the rest is not parsed',
    );
    if (kind === 'tls') {
      try {
        this.ctx.switchProtocol('tls');
      } catch (err) {
        this.ctx.log.debug({ err }, 'postgres: no TLS handler for the switched connection');
      }
    }
  }

  private enqueue(kind: number, sql: string | undefined, bytes: number): Pending {
    if (this.pending.length >= MAX_PENDING) {
      this.pending.shift();
      this.ctx.counters.dropped('postgres', 'pending-queue-full', 0);
    }
    const p: Pending = {
      kind,
      sql,
      startMs: this.nowMs,
      requestBytes: bytes,
      responseBytes: 0,
      tags: [],
      rows: 0,
      errorCode: undefined,
      errorMessage: undefined,
    };
    this.pending.push(p);
    return p;
  }

  private readonly onClientMessage = (type: number, body: Buffer | undefined, size: number): void => {
    if (type === TYPE_STARTUP) {
      this.onStartup(body);
      return;
    }
    if (this.copyIn && (type === C.F_COPY_DATA || type === C.F_COPY_DONE || type === C.F_COPY_FAIL)) {
      const head = this.pending[0];
      if (head !== undefined) head.requestBytes += size;
      if (type !== C.F_COPY_DATA) this.copyIn = false;
      return;
    }
    if (this.groupStartMs < 0) this.groupStartMs = this.nowMs;
    switch (type) {
      case C.F_QUERY: {
        const sql = body === undefined ? undefined : cstring(body, 0)?.value;
        const p = this.enqueue(K_QUERY, sql, size + this.groupBytes);
        p.startMs = this.groupStartMs;
        this.resetGroup();
        return;
      }
      case C.F_PARSE: {
        if (body === undefined) {
          this.enqueue(K_PARSE, undefined, 0);
          break;
        }
        const name = cstring(body, 0);
        const query = name === undefined ? undefined : cstring(body, name.next);
        if (name !== undefined && query !== undefined)
          this.remember(this.statements, name.value, query.value, MAX_STATEMENTS);
        this.enqueue(K_PARSE, query?.value, 0);
        break;
      }
      case C.F_BIND: {
        if (body !== undefined) {
          const portal = cstring(body, 0);
          const stmt = portal === undefined ? undefined : cstring(body, portal.next);
          if (portal !== undefined && stmt !== undefined) {
            this.remember(this.portals, portal.value, this.statements.get(stmt.value), MAX_PORTALS);
          }
        }
        this.enqueue(K_BIND, undefined, 0);
        break;
      }
      case C.F_DESCRIBE:
        this.enqueue(K_DESCRIBE, undefined, 0);
        break;
      case C.F_EXECUTE: {
        const portal = body === undefined ? undefined : cstring(body, 0);
        const sql = portal === undefined ? undefined : this.portals.get(portal.value);
        const p = this.enqueue(K_EXECUTE, sql, size + this.groupBytes);
        p.startMs = this.groupStartMs;
        this.resetGroup();
        return;
      }
      case C.F_CLOSE: {
        if (body !== undefined && body.length >= 2) {
          const name = cstring(body, 1)?.value;
          if (name !== undefined) {
            if (body[0] === 0x53 /* S */) this.statements.delete(name);
            else this.portals.delete(name);
          }
        }
        this.enqueue(K_CLOSE, undefined, 0);
        break;
      }
      case C.F_SYNC:
        this.enqueue(K_SYNC, undefined, 0);
        break;
      case C.F_FUNCTION_CALL:
        this.enqueue(K_FUNCTION, undefined, 0);
        break;
      case C.F_TERMINATE:
        break;
      default:
        // Password/SASL, Flush: nothing answers them in a way we pair.
        break;
    }
    this.groupBytes += size;
  };

  private resetGroup(): void {
    this.groupStartMs = -1;
    this.groupBytes = 0;
  }

  private remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
    map.delete(key);
    if (map.size >= max) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
      this.ctx.counters.dropped('postgres', 'statement-cache-full', 0);
    }
    map.set(key, value);
  }

  private onStartup(body: Buffer | undefined): void {
    if (body === undefined || body.length < 4) return;
    const code = body.readUInt32BE(0);
    if (code === C.SSL_REQUEST || code === C.GSSENC_REQUEST) {
      this.phase = P_SSL_WAIT;
      this.server.singleByte = true;
      // After a refusal ('N') the client sends a real startup message.
      this.client.startup = true;
      return;
    }
    if (code === C.CANCEL_REQUEST) return;
    this.phase = P_READY;
  }

  /** First pending item the current answer counts toward: the next Execute/Query, else the head. */
  private target(): Pending | undefined {
    for (const p of this.pending) {
      if (p.kind === K_EXECUTE || p.kind === K_QUERY) return p;
      if (p.kind === K_SYNC) break;
    }
    return this.pending[0];
  }

  private readonly onServerMessage = (type: number, body: Buffer | undefined, size: number): void => {
    if (type === TYPE_SINGLE_BYTE) {
      const answer = body?.[0];
      if (answer === C.SSL_ACCEPT) this.stopEncrypted('tls');
      else if (answer === C.GSS_ACCEPT) this.stopEncrypted('gss');
      else this.phase = P_STARTUP;
      return;
    }
    const tgt = this.target();
    if (tgt !== undefined) tgt.responseBytes += size;
    const head = this.pending[0];
    switch (type) {
      case C.B_PARSE_COMPLETE:
        this.shiftIf(K_PARSE);
        return;
      case C.B_BIND_COMPLETE:
        this.shiftIf(K_BIND);
        return;
      case C.B_CLOSE_COMPLETE:
        this.shiftIf(K_CLOSE);
        return;
      case C.B_NO_DATA:
      case C.B_ROW_DESCRIPTION:
        if (head?.kind === K_DESCRIBE) this.pending.shift();
        return;
      case C.B_DATA_ROW:
        if (head !== undefined) head.rows++;
        return;
      case C.B_COPY_IN:
      case C.B_COPY_BOTH:
        this.copyIn = true;
        return;
      case C.B_COMMAND_COMPLETE: {
        if (head === undefined || body === undefined) return;
        const tag = cstring(body, 0)?.value ?? body.toString('utf8');
        head.tags.push(tag);
        if (head.kind === K_EXECUTE) this.finish(head, true);
        return;
      }
      case C.B_EMPTY_QUERY:
      case C.B_PORTAL_SUSPENDED:
        if (head?.kind === K_EXECUTE) this.finish(head, true);
        return;
      case C.B_FUNCTION_CALL_RESPONSE:
        this.shiftIf(K_FUNCTION);
        return;
      case C.B_ERROR_RESPONSE:
        this.onError(body);
        return;
      case C.B_READY_FOR_QUERY:
        this.onReady(body);
        return;
      default:
        return;
    }
  };

  private shiftIf(kind: number): void {
    if (this.pending[0]?.kind === kind) this.pending.shift();
  }

  private onError(body: Buffer | undefined): void {
    const fields = body === undefined ? {} : parseErrorFields(body);
    const head = this.pending[0];
    if (head === undefined) {
      if (this.phase !== P_READY || fields.severity === 'FATAL') {
        this.ctx.log.debug(
          { conn: this.ctx.conn.id, sqlstate: fields.code },
          'postgres: connection-level error',
        );
      }
      return;
    }
    this.copyIn = false;
    const failed = this.target() ?? head;
    failed.errorCode = fields.code;
    failed.errorMessage = fields.message;
    if (head.kind === K_QUERY) return; // ReadyForQuery ends it.
    // Extended protocol: the server skips everything up to Sync; the failing Execute (or the
    // failing Parse/Bind, when no Execute follows) is reported, the rest never ran.
    if (failed.kind === K_EXECUTE || failed.sql !== undefined) this.emit(failed, this.nowMs, true);
    while (this.pending.length > 0 && this.pending[0]!.kind !== K_SYNC) this.pending.shift();
  }

  private onReady(body: Buffer | undefined): void {
    const status = body?.[0];
    this.transactionStatus =
      status === C.TX_IN_BLOCK
        ? 'transaction'
        : status === C.TX_FAILED
          ? 'failed'
          : status === C.TX_IDLE
            ? 'idle'
            : undefined;
    this.phase = P_READY;
    this.copyIn = false;
    const head = this.pending.shift();
    if (head === undefined) return;
    if (head.kind === K_QUERY) {
      this.emit(head, this.nowMs, true);
      return;
    }
    if (head.kind !== K_SYNC) {
      // ReadyForQuery answers a Sync; anything before it that got no answer was skipped.
      while (this.pending.length > 0 && this.pending[0]!.kind !== K_SYNC) this.pending.shift();
      this.pending.shift();
    }
  }

  private finish(p: Pending, complete: boolean): void {
    const i = this.pending.indexOf(p);
    if (i >= 0) this.pending.splice(0, i + 1);
    this.emit(p, this.nowMs, complete);
  }

  private flushPending(tsMs: number, complete: boolean): void {
    for (const p of this.pending) {
      if (p.kind === K_QUERY || p.kind === K_EXECUTE) this.emit(p, tsMs, complete);
    }
    this.pending.length = 0;
    this.resetGroup();
  }

  private emit(p: Pending, endMs: number, complete: boolean): void {
    const db: DbInfo = { system: 'postgresql' };
    let info: SqlInfo | undefined;
    if (p.sql !== undefined) {
      info = analyzeSql(p.sql, { dialect: 'postgresql' });
      db.statement = this.full ? p.sql : info.normalized;
    }
    let operation = info?.operation;
    let rows: number | undefined;
    for (const tag of p.tags) {
      const parsed = parseCommandTag(tag);
      if (operation === undefined || p.tags.length === 1) operation = parsed.operation;
      if (parsed.rows !== undefined) rows = (rows ?? 0) + parsed.rows;
    }
    if (rows === undefined && p.rows > 0) rows = p.rows;
    if (operation !== undefined) db.operation = operation;
    if (info?.table !== undefined) db.table = info.table;
    if (rows !== undefined) db.rows = rows;
    if (p.errorCode !== undefined) db.errorCode = p.errorCode;
    if (p.errorMessage !== undefined) db.errorMessage = p.errorMessage;
    const tx: Transaction = {
      protocol: 'postgres',
      startMs: p.startMs,
      endMs,
      status: p.errorCode ?? (complete ? 'ok' : undefined),
      requestBytes: p.requestBytes,
      responseBytes: p.responseBytes,
      complete,
      db,
    };
    if (operation !== undefined) tx.operation = operation;
    if (tx.status === undefined) delete tx.status;
    this.ctx.emit(tx);
  }
}
