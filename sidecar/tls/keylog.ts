/**
 * The NSS key log (the SSLKEYLOGFILE format): one `LABEL <client_random hex> <secret hex>`
 * line per secret. KeyLogStore indexes secrets by client random and lets a connection wait
 * a bounded time for keys written after its packets were captured; KeyLogTailer follows the
 * file as the application appends to it, and reopens it when it is truncated or recreated.
 *
 * Key material never leaves this module except to the decryptor: it is never logged, never
 * put in an error message, and zero-filled when its connection ends or it expires.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { Logger } from '../../lib/log.ts';
import { silentLogger } from '../../lib/log.ts';

export const KEYLOG_LABELS = [
  'CLIENT_RANDOM',
  'CLIENT_EARLY_TRAFFIC_SECRET',
  'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
  'SERVER_HANDSHAKE_TRAFFIC_SECRET',
  'CLIENT_TRAFFIC_SECRET_0',
  'SERVER_TRAFFIC_SECRET_0',
  'EXPORTER_SECRET',
  'EARLY_EXPORTER_SECRET',
] as const;
export type KeyLogLabel = (typeof KEYLOG_LABELS)[number];
export type Secrets = Partial<Record<KeyLogLabel, Buffer>>;

const LABEL_SET: ReadonlySet<string> = new Set(KEYLOG_LABELS);
const CLIENT_RANDOM_HEX = 64;
/** Master secrets are 48 bytes; TLS 1.3 secrets are a hash long (32 or 48). */
const SECRET_HEX_LENGTHS: ReadonlySet<number> = new Set([64, 96]);
const HEX = /^[0-9a-fA-F]+$/;

/** Why a key log line was not used; each is a label of the line counter. */
export type LineResult =
  | 'ok'
  | 'comment'
  | 'malformed'
  | 'unknown-label'
  | 'bad-hex'
  | 'bad-length'
  | 'line-too-long'
  | 'truncated';

export interface KeyLogStats {
  lines: Record<LineResult, number>;
  /** Secrets dropped unused because the store was full or they expired. */
  evicted: number;
  /** Connections whose keys were released at connection end. */
  released: number;
  /** The file was truncated or replaced and read again from its start. */
  reopened: number;
  readErrors: number;
  waitsSatisfied: number;
  waitsTimedOut: number;
}

export function newKeyLogStats(): KeyLogStats {
  return {
    lines: {
      ok: 0,
      comment: 0,
      malformed: 0,
      'unknown-label': 0,
      'bad-hex': 0,
      'bad-length': 0,
      'line-too-long': 0,
      truncated: 0,
    },
    evicted: 0,
    released: 0,
    reopened: 0,
    readErrors: 0,
    waitsSatisfied: 0,
    waitsTimedOut: 0,
  };
}

export interface ParsedKeyLogLine {
  label: KeyLogLabel;
  clientRandom: string;
  secret: Buffer;
}

/** Parses one line (without its newline). Never echoes the line's content anywhere. */
export function parseKeyLogLine(line: string): ParsedKeyLogLine | Exclude<LineResult, 'ok'> {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.length === 0 || text.startsWith('#')) return 'comment';
  const parts = text.split(' ');
  if (parts.length !== 3) return 'malformed';
  const [label, random, secret] = parts as [string, string, string];
  if (!LABEL_SET.has(label)) return 'unknown-label';
  if (!HEX.test(random) || !HEX.test(secret)) return 'bad-hex';
  if (random.length !== CLIENT_RANDOM_HEX || !SECRET_HEX_LENGTHS.has(secret.length)) return 'bad-length';
  if (label === 'CLIENT_RANDOM' && secret.length !== 96) return 'bad-length';
  return {
    label: label as KeyLogLabel,
    clientRandom: random.toLowerCase(),
    secret: Buffer.from(secret, 'hex'),
  };
}

interface Entry {
  secrets: Secrets;
  addedMs: number;
}

interface Waiter {
  ready: (secrets: Secrets) => boolean;
  done: (secrets: Secrets | undefined) => void;
  timer: NodeJS.Timeout;
}

export interface KeyLogStoreOptions {
  /** Clients whose secrets are kept at most; the oldest go first. */
  maxEntries?: number;
  /** Secrets no connection claimed are dropped after this long. */
  ttlMs?: number;
  now?: () => number;
  /** Counters to add to (shared by the stores a reload replaces); new ones by default. */
  stats?: KeyLogStats;
}

function wipe(secrets: Secrets): void {
  for (const label of KEYLOG_LABELS) secrets[label]?.fill(0);
}

export class KeyLogStore {
  readonly stats: KeyLogStats;
  private readonly entries = new Map<string, Entry>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Asked before a connection starts waiting, so that a tailer can read fresh lines first. */
  onDemand: (() => void) | undefined;

  constructor(options: KeyLogStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 8192;
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
    this.stats = options.stats ?? newKeyLogStats();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Feeds one line of the key log; returns what became of it (and counts it). */
  ingestLine(line: string): LineResult {
    const parsed = parseKeyLogLine(line);
    if (typeof parsed === 'string') {
      this.stats.lines[parsed]++;
      return parsed;
    }
    this.add(parsed.label, parsed.clientRandom, parsed.secret);
    this.stats.lines.ok++;
    return 'ok';
  }

  add(label: KeyLogLabel, clientRandomHex: string, secret: Buffer): void {
    const key = clientRandomHex.toLowerCase();
    let entry = this.entries.get(key);
    if (entry === undefined) {
      this.expire();
      entry = { secrets: {}, addedMs: this.now() };
      this.entries.set(key, entry);
    }
    entry.secrets[label]?.fill(0);
    entry.secrets[label] = secret;
    const waiting = this.waiters.get(key);
    if (waiting !== undefined) {
      for (const w of [...waiting]) {
        if (w.ready(entry.secrets)) this.finish(key, w, entry.secrets);
      }
    }
  }

  get(clientRandom: Buffer): Secrets | undefined {
    return this.entries.get(clientRandom.toString('hex'))?.secrets;
  }

  /**
   * Calls `done` once: with the secrets as soon as `ready` says they suffice, or after
   * `timeoutMs` with whatever arrived (undefined when nothing did). Returns a canceller.
   */
  waitFor(
    clientRandom: Buffer,
    ready: (secrets: Secrets) => boolean,
    timeoutMs: number,
    done: (secrets: Secrets | undefined) => void,
  ): () => void {
    const key = clientRandom.toString('hex');
    this.onDemand?.();
    const current = this.entries.get(key)?.secrets;
    if (current !== undefined && ready(current)) {
      this.stats.waitsSatisfied++;
      done(current);
      return () => {};
    }
    const waiter: Waiter = {
      ready,
      done,
      timer: setTimeout(() => {
        this.onDemand?.();
        const secrets = this.entries.get(key)?.secrets;
        if (secrets !== undefined && ready(secrets)) this.stats.waitsSatisfied++;
        else this.stats.waitsTimedOut++;
        this.remove(key, waiter);
        done(secrets);
      }, timeoutMs),
    };
    waiter.timer.unref();
    const list = this.waiters.get(key);
    if (list === undefined) this.waiters.set(key, [waiter]);
    else list.push(waiter);
    return () => {
      clearTimeout(waiter.timer);
      this.remove(key, waiter);
    };
  }

  /** The connection ended: its secrets are wiped and forgotten. */
  release(clientRandom: Buffer): void {
    const key = clientRandom.toString('hex');
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    wipe(entry.secrets);
    this.entries.delete(key);
    this.stats.released++;
  }

  /**
   * Answers every connection still waiting now, with whatever secrets have arrived, instead
   * of when its wait runs out (shutdown: what they decrypt, or their summaries, still get out).
   */
  settleAll(): void {
    this.onDemand?.();
    for (const [key, list] of [...this.waiters]) {
      this.waiters.delete(key);
      const secrets = this.entries.get(key)?.secrets;
      for (const w of list) {
        clearTimeout(w.timer);
        if (secrets !== undefined && w.ready(secrets)) this.stats.waitsSatisfied++;
        else this.stats.waitsTimedOut++;
        w.done(secrets);
      }
    }
  }

  /** Connections waiting for their keys now. */
  get waiting(): number {
    let n = 0;
    for (const list of this.waiters.values()) n += list.length;
    return n;
  }

  /** Wipes everything (sidecar shutdown, tests). */
  clear(): void {
    for (const entry of this.entries.values()) wipe(entry.secrets);
    this.entries.clear();
    for (const list of this.waiters.values()) for (const w of list) clearTimeout(w.timer);
    this.waiters.clear();
  }

  private finish(key: string, w: Waiter, secrets: Secrets): void {
    clearTimeout(w.timer);
    this.remove(key, w);
    this.stats.waitsSatisfied++;
    w.done(secrets);
  }

  private remove(key: string, w: Waiter): void {
    const list = this.waiters.get(key);
    if (list === undefined) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.waiters.delete(key);
  }

  /** Drops expired entries and, when full, the oldest (Map iteration is insertion order). */
  private expire(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [key, entry] of this.entries) {
      if (entry.addedMs > cutoff && this.entries.size < this.maxEntries) break;
      wipe(entry.secrets);
      this.entries.delete(key);
      this.stats.evicted++;
    }
  }
}

export interface KeyLogTailerOptions {
  pollIntervalMs?: number;
  /** Longer lines are garbage (a real line is under 250 bytes). */
  maxLineLength?: number;
  /** Bytes read per poll at most, so one poll never stalls the capture loop for long. */
  maxReadBytes?: number;
  log?: Logger;
}

/**
 * Follows a key log file. Reads are synchronous and small (only what was appended), so
 * a connection that needs keys can call poll() and see lines written a moment ago.
 */
export class KeyLogTailer {
  readonly path: string;
  private readonly store: KeyLogStore;
  private readonly pollIntervalMs: number;
  private readonly maxLineLength: number;
  private readonly maxReadBytes: number;
  private readonly log: Logger;
  private fd: number | undefined;
  private ino = -1;
  private offset = 0;
  private partial = '';
  private skippingLongLine = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly chunk: Buffer;
  private missingLogged = false;

  constructor(path: string, store: KeyLogStore, options: KeyLogTailerOptions = {}) {
    this.path = path;
    this.store = store;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.maxLineLength = options.maxLineLength ?? 1024;
    this.maxReadBytes = options.maxReadBytes ?? 1 << 20;
    this.log = options.log ?? silentLogger;
    this.chunk = Buffer.allocUnsafe(64 * 1024);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.store.onDemand = () => this.poll();
    this.poll();
    this.timer = setInterval(() => this.poll(), this.pollIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.store.onDemand !== undefined) this.store.onDemand = undefined;
    this.closeFd();
  }

  /** Reads whatever was appended since the last poll. Safe to call at any time. */
  poll(): void {
    let st: { ino: number; size: number };
    try {
      st = statSync(this.path);
    } catch {
      // Not written yet (no TLS connection so far) or removed while the pod restarts.
      if (!this.missingLogged) this.log.debug({ path: this.path }, 'TLS key log not present yet');
      this.missingLogged = true;
      this.closeFd();
      return;
    }
    this.missingLogged = false;
    if (this.fd !== undefined && (st.ino !== this.ino || st.size < this.offset)) {
      // Recreated (new inode) or truncated: start over from the beginning.
      this.store.stats.reopened++;
      this.closeFd();
    }
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.path, 'r');
        this.ino = fstatSync(this.fd).ino;
        this.offset = 0;
      } catch {
        this.store.stats.readErrors++;
        return;
      }
    }
    let budget = this.maxReadBytes;
    while (budget > 0) {
      let n: number;
      try {
        n = readSync(this.fd, this.chunk, 0, Math.min(this.chunk.length, budget), this.offset);
      } catch {
        this.store.stats.readErrors++;
        this.closeFd();
        return;
      }
      if (n === 0) break;
      this.offset += n;
      budget -= n;
      this.consume(this.chunk.toString('latin1', 0, n));
    }
  }

  private consume(text: string): void {
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.skippingLongLine) {
        this.skippingLongLine = false;
        this.partial = '';
        continue;
      }
      const line = this.partial + piece;
      this.partial = '';
      if (line.length > this.maxLineLength) this.store.stats.lines['line-too-long']++;
      else this.store.ingestLine(line);
    }
    if (start < text.length && !this.skippingLongLine) {
      this.partial += text.slice(start);
      if (this.partial.length > this.maxLineLength) {
        this.store.stats.lines['line-too-long']++;
        this.partial = '';
        this.skippingLongLine = true;
      }
    }
  }

  private closeFd(): void {
    if (this.partial.length > 0) this.store.stats.lines.truncated++;
    this.partial = '';
    this.skippingLongLine = false;
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
    }
    this.fd = undefined;
    this.ino = -1;
    this.offset = 0;
  }
}
