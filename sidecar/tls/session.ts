/**
 * The `tls` protocol: detects a ClientHello, follows the handshake in the clear, and when the
 * key log has the connection's secrets decrypts both directions and feeds the plaintext to
 * an inner protocol session (HTTP/1.1, HTTP/2, ...) chosen by ALPN or by the same content
 * detection cleartext gets. Without keys it emits one `tls` transaction per connection
 * (SNI, version, bytes each way, duration).
 */
import { ParseError } from '../../lib/errors.ts';
import type {
  Detection,
  ProtocolDefinition,
  ProtocolSession,
  SessionContext,
  Side,
  Transaction,
} from '../protocols/types.ts';
import type { ProtocolName } from '../signal/types.ts';
import { keyBlock12, nextTrafficSecret, trafficKeys13 } from './crypto.ts';
import { RecordDecryptor } from './decrypt.ts';
import {
  type ClientHello,
  parseClientHello,
  parseEncryptedExtensions,
  parseServerHello,
  type ServerHello,
} from './hello.ts';
import type { KeyLogStore, Secrets } from './keylog.ts';
import {
  CONTENT_APPLICATION_DATA,
  CONTENT_CHANGE_CIPHER_SPEC,
  CONTENT_HANDSHAKE,
  type HandshakeMessage,
  HandshakeReader,
  HS_CLIENT_HELLO,
  HS_ENCRYPTED_EXTENSIONS,
  HS_FINISHED,
  HS_KEY_UPDATE,
  HS_SERVER_HELLO,
  MAX_FRAGMENT_LENGTH,
  RecordReader,
  type TlsRecord,
} from './record.ts';
import { type ConnectionOutcome, newTlsStats, type TlsStats } from './stats.ts';
import { type CipherSuite, cipherSuite, TLS_1_3, versionName } from './suites.ts';

export interface TlsProtocolOptions {
  /** Where secrets come from; without one nothing is decrypted. */
  keyLog?: KeyLogStore;
  /** How long a connection waits for keys written after its packets (ms). */
  keyWaitMs?: number;
  /** Ciphertext held per connection while waiting for keys; more is dropped and counted. */
  maxPendingBytes?: number;
  /** Parsers for the decrypted stream, asked in order (ALPN picks first when present). */
  innerProtocols?: readonly ProtocolDefinition[];
  stats?: TlsStats;
}

export const DEFAULT_KEY_WAIT_MS = 3000;
export const DEFAULT_MAX_PENDING_BYTES = 1 << 20;
/** Decrypted bytes held while the inner protocol is still undecided. */
const MAX_DETECT_BYTES = 16 * 1024;
/** Handshake flights are a few records; more unreadable ones mean the keys are wrong. */
const MAX_UNREADABLE_HANDSHAKE_RECORDS = 8;

const ALPN_PROTOCOL: Readonly<Record<string, ProtocolName>> = {
  h2: 'http2',
  'http/1.1': 'http',
  'http/1.0': 'http',
};

/** A ClientHello (from the client) or ServerHello (from the server) record opens the stream. */
export function detectTls(first: Buffer, side: Side): Detection {
  if (first.length === 0) return 'need-more';
  if (first[0] !== CONTENT_HANDSHAKE) return 'no';
  if (first.length < 3) return first.length < 2 || first[1] === 3 ? 'need-more' : 'no';
  if (first[1] !== 3 || first[2]! > 4) return 'no';
  if (first.length < 6) return 'need-more';
  const length = first.readUInt16BE(3);
  if (length === 0 || length > MAX_FRAGMENT_LENGTH) return 'no';
  const expected = side === 'client' ? HS_CLIENT_HELLO : HS_SERVER_HELLO;
  return first[5] === expected ? 'match' : 'no';
}

type KeyState = 'unknown' | 'waiting' | 'ready' | 'missing';
type Phase = 'plain' | 'handshake' | 'application' | 'failed';

interface Direction {
  records: RecordReader;
  /** Plaintext handshake messages (before encryption starts). */
  plainHandshake: HandshakeReader;
  /** Decrypted handshake messages. */
  handshake: HandshakeReader;
  phase: Phase;
  /** TLS 1.2: a ChangeCipherSpec was seen, so every later record is protected. */
  ccs: boolean;
  decryptor: RecordDecryptor | undefined;
  /** TLS 1.3 current application traffic secret (advanced by KeyUpdate). */
  appSecret: Buffer | undefined;
  /** TLS 1.3 0-RTT secret (client only). */
  earlySecret: Buffer | undefined;
  /**
   * Records still allowed to fail before the direction gives up: only when the log had
   * application secrets but no handshake secrets, so the encrypted handshake is unreadable.
   */
  skipBudget: number;
  bytes: number;
}

function newDirection(): Direction {
  return {
    records: new RecordReader(),
    plainHandshake: new HandshakeReader(),
    handshake: new HandshakeReader(),
    phase: 'plain',
    ccs: false,
    decryptor: undefined,
    appSecret: undefined,
    earlySecret: undefined,
    skipBudget: 0,
    bytes: 0,
  };
}

interface Pending {
  side: Side;
  record: TlsRecord;
  tsMs: number;
}

class TlsSession implements ProtocolSession {
  private readonly ctx: SessionContext;
  private readonly options: TlsProtocolOptions;
  private readonly stats: TlsStats;
  private readonly dirs: Record<Side, Direction> = { client: newDirection(), server: newDirection() };
  private clientHello: ClientHello | undefined;
  private serverHello: ServerHello | undefined;
  private suite: CipherSuite | undefined;
  private version = 0;
  private alpn: string | undefined;
  private keyState: KeyState = 'unknown';
  private outcome: ConnectionOutcome | undefined;
  private cancelWait: (() => void) | undefined;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private startMs = 0;
  private endMs = 0;
  private sawGap = false;
  private closeAtMs: number | undefined;
  private closed = false;
  private inner: ProtocolSession | undefined;
  private innerUndecided: Array<{ side: Side; bytes: Buffer; tsMs: number }> | undefined = [];
  private innerUndecidedBytes = 0;
  private innerEmitted = 0;
  private decryptedRecords = 0;

  constructor(ctx: SessionContext, options: TlsProtocolOptions, stats: TlsStats) {
    this.ctx = ctx;
    this.options = options;
    this.stats = stats;
  }

  onData(side: Side, chunk: Buffer, tsMs: number): void {
    if (this.closed) return;
    if (this.startMs === 0) this.startMs = tsMs;
    this.endMs = tsMs;
    const dir = this.dirs[side];
    dir.bytes += chunk.length;
    const error = dir.records.parse(chunk, (record) => this.onRecord(side, record, tsMs));
    if (error !== undefined) {
      this.ctx.counters.parseError('tls', error);
      if (this.outcome === undefined && this.decryptedRecords === 0) this.outcome = 'malformed';
    }
  }

  onGap(side: Side, bytes: number, tsMs: number): void {
    if (this.closed) return;
    this.sawGap = true;
    this.endMs = tsMs;
    const dir = this.dirs[side];
    dir.bytes += bytes;
    // Records carry no marker to resynchronize on, and sequence numbers are implicit.
    dir.records.gap();
    dir.phase = 'failed';
    this.inner?.onGap(side, bytes, tsMs);
  }

  onClose(tsMs: number): void {
    if (this.closed) return;
    if (tsMs > this.endMs) this.endMs = tsMs;
    if (this.keyState === 'waiting') {
      // Keys may still be on their way: finish when they come or the wait runs out.
      this.closeAtMs = tsMs;
      return;
    }
    this.finish(tsMs);
  }

  // --- records -------------------------------------------------------------------------

  private onRecord(side: Side, record: TlsRecord, tsMs: number): void {
    const dir = this.dirs[side];
    if (this.isProtected(side, record)) {
      this.onProtected(side, record, tsMs);
      return;
    }
    if (record.type === CONTENT_HANDSHAKE) {
      dir.plainHandshake.parse(record.fragment, (m) => this.onPlainHandshake(side, m));
    } else if (record.type === CONTENT_CHANGE_CIPHER_SPEC && this.version !== TLS_1_3 && this.serverHello) {
      dir.ccs = true;
    }
  }

  private isProtected(side: Side, record: TlsRecord): boolean {
    if (this.dirs[side].ccs) return record.type !== CONTENT_CHANGE_CIPHER_SPEC;
    if (record.type !== CONTENT_APPLICATION_DATA) return false;
    // TLS 1.3 protects everything after the ServerHello under outer type application_data;
    // a client's application_data before it is 0-RTT early data.
    return this.version === TLS_1_3 || (side === 'client' && this.serverHello === undefined);
  }

  private onPlainHandshake(side: Side, message: HandshakeMessage): void {
    try {
      if (side === 'client' && message.type === HS_CLIENT_HELLO) {
        this.clientHello = parseClientHello(message.body);
        this.publishTlsInfo(false);
      } else if (side === 'server' && message.type === HS_SERVER_HELLO) {
        const hello = parseServerHello(message.body);
        if (hello.helloRetryRequest) return; // the real ServerHello follows
        this.serverHello = hello;
        this.version = hello.version;
        this.suite = cipherSuite(hello.cipherSuite);
        if (hello.alpn !== undefined) this.alpn = hello.alpn;
        this.publishTlsInfo(false);
      }
    } catch (err) {
      const code = err instanceof ParseError ? String(err.protocolCode ?? 'hello') : 'hello';
      this.ctx.counters.parseError('tls', `bad-hello:${code}`);
    }
  }

  /** Makes SNI and version visible to whatever builds the signal from the connection. */
  private publishTlsInfo(decrypted: boolean): void {
    const info: NonNullable<SessionContext['conn']['tls']> = { decrypted };
    if (this.clientHello?.sni !== undefined) info.sni = this.clientHello.sni;
    if (this.version !== 0) info.version = versionName(this.version);
    if (this.alpn !== undefined) info.alpn = this.alpn;
    this.ctx.conn.tls = info;
  }

  // --- keys ----------------------------------------------------------------------------

  private onProtected(side: Side, record: TlsRecord, tsMs: number): void {
    if (this.serverHello === undefined && this.clientHello !== undefined) {
      // 0-RTT early data before the ServerHello: not decrypted (see docs/tls.md), counted.
      this.ctx.counters.dropped('tls', 'early-data', record.fragment.length);
      return;
    }
    if (this.keyState === 'unknown') this.requestKeys();
    if (this.keyState === 'ready') {
      this.decrypt(side, record, tsMs);
    } else if (this.keyState === 'waiting') {
      if (
        this.pendingBytes + record.fragment.length >
        (this.options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES)
      ) {
        this.stats.pendingDroppedBytes += record.fragment.length;
        this.ctx.counters.dropped('tls', 'awaiting-keys', record.fragment.length);
        this.dirs[side].phase = 'failed'; // a hole in the sequence numbers
        return;
      }
      // The record is a view into a chunk the caller may reuse: keep a copy.
      const copy = Buffer.from(Buffer.concat([record.header, record.fragment]));
      this.pending.push({
        side,
        record: {
          type: record.type,
          version: record.version,
          header: copy.subarray(0, 5),
          fragment: copy.subarray(5),
        },
        tsMs,
      });
      this.pendingBytes += copy.length;
    }
  }

  private requestKeys(): void {
    const keyLog = this.options.keyLog;
    if (this.clientHello === undefined || this.serverHello === undefined) {
      this.noKeys('no-handshake');
      return;
    }
    if (keyLog === undefined) {
      this.noKeys('no-key-log');
      return;
    }
    const suite = this.suite;
    if (suite === undefined || (suite.version === TLS_1_3) !== (this.version === TLS_1_3)) {
      this.noKeys('unsupported-suite');
      return;
    }
    this.keyState = 'waiting';
    const ready = this.version === TLS_1_3 ? hasAll13 : has12;
    this.cancelWait = keyLog.waitFor(
      this.clientHello.random,
      ready,
      this.options.keyWaitMs ?? DEFAULT_KEY_WAIT_MS,
      (secrets) => this.onKeys(secrets),
    );
  }

  private noKeys(outcome: ConnectionOutcome): void {
    this.keyState = 'missing';
    this.outcome ??= outcome;
  }

  private onKeys(secrets: Secrets | undefined): void {
    this.cancelWait = undefined;
    if (this.closed) return;
    const usable = secrets !== undefined && this.installKeys(secrets);
    if (usable) {
      this.keyState = 'ready';
      this.publishTlsInfo(true);
    } else {
      this.noKeys('keys-missing');
    }
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (usable) for (const p of pending) this.decrypt(p.side, p.record, p.tsMs);
    if (this.closeAtMs !== undefined) this.finish(this.closeAtMs);
  }

  /** Builds decryptors from the secrets; false when they cannot decrypt this connection. */
  private installKeys(secrets: Secrets): boolean {
    const suite = this.suite!;
    const ch = this.clientHello!;
    const sh = this.serverHello!;
    if (this.version !== TLS_1_3) {
      const master = secrets.CLIENT_RANDOM;
      if (master === undefined) return false;
      const block = keyBlock12(suite, master, ch.random, sh.random);
      this.dirs.client.decryptor = new RecordDecryptor(suite, block.client);
      this.dirs.server.decryptor = new RecordDecryptor(suite, block.server);
      this.dirs.client.phase = 'application';
      this.dirs.server.phase = 'application';
      return true;
    }
    let any = false;
    const setup = (dir: Direction, hs: Buffer | undefined, app: Buffer | undefined) => {
      // Copies: the store wipes its buffers when the connection ends, and KeyUpdate
      // replaces the secret here without touching the store's.
      dir.appSecret = app === undefined ? undefined : Buffer.from(app);
      if (hs !== undefined) {
        dir.decryptor = new RecordDecryptor(suite, trafficKeys13(suite, hs));
        dir.phase = 'handshake';
        any = true;
      } else if (app !== undefined) {
        dir.decryptor = new RecordDecryptor(suite, trafficKeys13(suite, app));
        dir.phase = 'application';
        dir.skipBudget = MAX_UNREADABLE_HANDSHAKE_RECORDS;
        any = true;
      }
    };
    setup(this.dirs.client, secrets.CLIENT_HANDSHAKE_TRAFFIC_SECRET, secrets.CLIENT_TRAFFIC_SECRET_0);
    setup(this.dirs.server, secrets.SERVER_HANDSHAKE_TRAFFIC_SECRET, secrets.SERVER_TRAFFIC_SECRET_0);
    if (secrets.CLIENT_EARLY_TRAFFIC_SECRET !== undefined) {
      this.dirs.client.earlySecret = Buffer.from(secrets.CLIENT_EARLY_TRAFFIC_SECRET);
    }
    return any;
  }

  // --- decryption ----------------------------------------------------------------------

  private decrypt(side: Side, record: TlsRecord, tsMs: number): void {
    const dir = this.dirs[side];
    if (dir.phase === 'failed' || dir.decryptor === undefined) return;
    let opened = dir.decryptor.open(record);
    if (opened === undefined && dir.phase === 'handshake') {
      // Handshake secrets missing from the log, or 0-RTT data: try the other keys.
      opened = this.tryAlternateKeys(dir, record);
    }
    if (opened === undefined && dir.skipBudget > 0) {
      dir.skipBudget--; // an encrypted handshake record under keys the log did not have
      return;
    }
    if (opened === undefined) {
      this.stats.recordsFailed++;
      this.ctx.counters.parseError('tls', 'bad-record-mac');
      dir.phase = 'failed';
      this.outcome ??= 'decrypt-failed';
      return;
    }
    dir.skipBudget = 0;
    this.stats.recordsDecrypted++;
    this.stats.bytesDecrypted += opened.content.length;
    this.decryptedRecords++;
    if (opened.type === CONTENT_HANDSHAKE) {
      dir.handshake.parse(opened.content, (m) => this.onProtectedHandshake(side, m));
    } else if (opened.type === CONTENT_APPLICATION_DATA && opened.content.length > 0) {
      this.toInner(side, opened.content, tsMs);
    }
  }

  private tryAlternateKeys(dir: Direction, record: TlsRecord) {
    const suite = this.suite!;
    if (dir.appSecret !== undefined) {
      const app = new RecordDecryptor(suite, trafficKeys13(suite, dir.appSecret));
      const opened = app.open(record);
      if (opened !== undefined) {
        dir.decryptor = app;
        dir.phase = 'application';
        return opened;
      }
    }
    if (dir.earlySecret !== undefined) {
      // Early data has its own sequence numbers; keep the early decryptor only for it.
      const early = new RecordDecryptor(suite, trafficKeys13(suite, dir.earlySecret));
      return early.open(record);
    }
    return undefined;
  }

  private onProtectedHandshake(side: Side, message: HandshakeMessage): void {
    const dir = this.dirs[side];
    const suite = this.suite!;
    if (message.type === HS_ENCRYPTED_EXTENSIONS && side === 'server') {
      try {
        const ee = parseEncryptedExtensions(message.body);
        if (ee.alpn !== undefined) {
          this.alpn = ee.alpn;
          this.publishTlsInfo(true);
        }
      } catch {
        this.ctx.counters.parseError('tls', 'bad-encrypted-extensions');
      }
    } else if (message.type === HS_FINISHED && this.version === TLS_1_3 && dir.phase === 'handshake') {
      // Keys change at the record boundary after Finished (RFC 8446 §5.1).
      if (dir.appSecret === undefined) {
        dir.phase = 'failed';
        this.outcome ??= 'keys-missing';
        return;
      }
      dir.decryptor = new RecordDecryptor(suite, trafficKeys13(suite, dir.appSecret));
      dir.phase = 'application';
    } else if (message.type === HS_KEY_UPDATE && this.version === TLS_1_3 && dir.appSecret !== undefined) {
      const next = nextTrafficSecret(suite.hash, dir.appSecret);
      dir.appSecret.fill(0);
      dir.appSecret = next;
      dir.decryptor = new RecordDecryptor(suite, trafficKeys13(suite, next));
      this.stats.keyUpdates++;
    }
  }

  // --- the decrypted stream ------------------------------------------------------------

  private toInner(side: Side, bytes: Buffer, tsMs: number): void {
    if (this.inner !== undefined) {
      this.inner.onData(side, bytes, tsMs);
      return;
    }
    const undecided = this.innerUndecided;
    if (undecided === undefined) return; // no parser wanted this stream
    undecided.push({ side, bytes, tsMs });
    this.innerUndecidedBytes += bytes.length;
    const def = this.pickInner(side, bytes);
    if (def === 'need-more') {
      if (this.innerUndecidedBytes > MAX_DETECT_BYTES) this.giveUpInner();
      return;
    }
    if (def === undefined) this.giveUpInner();
    else this.startInner(def);
  }

  private pickInner(side: Side, bytes: Buffer): ProtocolDefinition | 'need-more' | undefined {
    const defs = this.options.innerProtocols ?? [];
    const byAlpn = this.alpn === undefined ? undefined : ALPN_PROTOCOL[this.alpn];
    if (byAlpn !== undefined) {
      const def = defs.find((d) => d.name === byAlpn);
      if (def !== undefined) return def;
    }
    // Same detection as cleartext, on the first bytes this side sent.
    const first = Buffer.concat(this.innerUndecided!.filter((u) => u.side === side).map((u) => u.bytes));
    let needMore = false;
    for (const def of defs) {
      const d = def.detect(first.length > 0 ? first : bytes, side);
      if (d === 'match') return def;
      if (d === 'need-more') needMore = true;
    }
    return needMore ? 'need-more' : undefined;
  }

  private giveUpInner(): void {
    this.stats.unknownInnerProtocol++;
    this.ctx.counters.dropped('tls', 'unknown-inner-protocol', this.innerUndecidedBytes);
    this.innerUndecided = undefined;
    this.innerUndecidedBytes = 0;
  }

  private startInner(def: ProtocolDefinition): void {
    const buffered = this.innerUndecided ?? [];
    this.innerUndecided = undefined;
    this.innerUndecidedBytes = 0;
    this.inner = def.create(this.innerContext());
    for (const b of buffered) this.inner.onData(b.side, b.bytes, b.tsMs);
  }

  private innerContext(): SessionContext {
    const ctx = this.ctx;
    return {
      conn: ctx.conn,
      limits: ctx.limits,
      counters: ctx.counters,
      log: ctx.log,
      emit: (tx: Transaction) => {
        this.innerEmitted++;
        ctx.emit(tx);
      },
      switchProtocol: (name, carry, handoff) => {
        // An upgrade inside TLS (WebSocket over https): the new parser reads the plaintext and
        // gets the upgrade request (path, extensions) as cleartext parsers do.
        const def = (this.options.innerProtocols ?? []).find((d) => d.name === name);
        if (def === undefined) {
          this.inner = undefined;
          this.innerUndecided = undefined;
          return;
        }
        const inner = this.innerContext();
        if (handoff !== undefined) inner.handoff = handoff;
        this.inner = def.create(inner);
        for (const c of carry ?? []) this.inner.onData(c.side, c.bytes, this.endMs);
      },
    };
  }

  // --- the end -------------------------------------------------------------------------

  private finish(tsMs: number): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelWait?.();
    this.inner?.onClose(tsMs);
    const decrypted = this.keyState === 'ready' && this.decryptedRecords > 0;
    const outcome: ConnectionOutcome =
      this.outcome ??
      (decrypted ? 'decrypted' : this.clientHello === undefined ? 'no-handshake' : 'keys-missing');
    this.stats.connections[decrypted && this.outcome === undefined ? 'decrypted' : outcome]++;
    if (this.innerEmitted === 0) this.emitSummary(decrypted);
    if (this.clientHello !== undefined) this.options.keyLog?.release(this.clientHello.random);
    for (const dir of [this.dirs.client, this.dirs.server]) {
      dir.appSecret?.fill(0);
      dir.earlySecret?.fill(0);
      dir.appSecret = undefined;
      dir.earlySecret = undefined;
      dir.decryptor = undefined;
    }
    this.pending = [];
  }

  private emitSummary(decrypted: boolean): void {
    this.publishTlsInfo(decrypted);
    const tx: Transaction = {
      protocol: 'tls',
      startMs: this.startMs || this.endMs,
      endMs: this.endMs,
      requestBytes: this.dirs.client.bytes,
      responseBytes: this.dirs.server.bytes,
      complete: this.clientHello !== undefined && this.serverHello !== undefined && !this.sawGap,
    };
    const sni = this.clientHello?.sni;
    if (sni !== undefined) tx.operation = sni;
    this.ctx.emit(tx);
  }
}

function has12(s: Secrets): boolean {
  return s.CLIENT_RANDOM !== undefined;
}

function hasAll13(s: Secrets): boolean {
  return (
    s.CLIENT_HANDSHAKE_TRAFFIC_SECRET !== undefined &&
    s.SERVER_HANDSHAKE_TRAFFIC_SECRET !== undefined &&
    s.CLIENT_TRAFFIC_SECRET_0 !== undefined &&
    s.SERVER_TRAFFIC_SECRET_0 !== undefined
  );
}

/** The `tls` ProtocolDefinition, bound to a key log and the parsers for what it decrypts. */
export function createTlsProtocol(
  options: TlsProtocolOptions = {},
): ProtocolDefinition & { stats: TlsStats } {
  const stats = options.stats ?? newTlsStats();
  return {
    name: 'tls',
    defaultPorts: [443, 8443],
    detect: detectTls,
    create: (ctx) => new TlsSession(ctx, options, stats),
    stats,
  };
}
