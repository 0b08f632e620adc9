/**
 * The protocol registry: every parser the sidecar knows, detection by content (ports
 * only decide who is asked first), and the per-connection dispatcher that buffers the
 * first bytes until a parser claims them and follows protocol switches.
 *
 * Adding a protocol: a folder under sidecar/protocols/ exporting a ProtocolDefinition and
 * one line in BUILTIN_PROTOCOLS below. The `tls` entry is a placeholder that only
 * recognizes a ClientHello; the TLS module replaces it with `registry.register(tls)`.
 */
import type { Logger } from '../../lib/log.ts';
import type { ProtocolName } from '../signal/types.ts';
import { http1 } from './http1/index.ts';
import { http2Protocol } from './http2/index.ts';
import { mysqlProtocol } from './mysql/index.ts';
import { postgresProtocol } from './postgres/index.ts';
import {
  type ConnectionInfo,
  type Detection,
  type Handoff,
  NOT_PARSED_NO_PARSER,
  type ParserCounters,
  type ParserLimits,
  type ProtocolDefinition,
  type ProtocolSession,
  type SessionContext,
  type Side,
  type Transaction,
} from './types.ts';
import { websocket } from './websocket/index.ts';

const TLS_HANDSHAKE = 0x16;
const TLS_CLIENT_HELLO = 0x01;

/** A TLS record carrying a ClientHello: 16 03 0x LL LL 01 (RFC 8446 §5.1). */
export function detectTlsClientHello(first: Buffer, side: Side): Detection {
  if (side !== 'client') return 'no';
  if (first.length === 0) return 'need-more';
  if (first[0] !== TLS_HANDSHAKE) return 'no';
  if (first.length < 2) return 'need-more';
  if (first[1] !== 0x03) return 'no';
  if (first.length < 3) return 'need-more';
  if (first[2]! > 0x04) return 'no';
  if (first.length < 6) return 'need-more';
  return first[5] === TLS_CLIENT_HELLO ? 'match' : 'no';
}

/** Until the TLS module registers itself: recognize TLS and leave its bytes alone. */
const opaqueTls: ProtocolDefinition = {
  name: 'tls',
  defaultPorts: [443, 8443],
  detect: detectTlsClientHello,
  create: () => ({ onData() {}, onGap() {}, onClose() {} }),
};

/** Built-in protocols; one line per protocol. */
const BUILTIN_PROTOCOLS: readonly ProtocolDefinition[] = [
  http2Protocol,
  http1,
  websocket,
  postgresProtocol,
  mysqlProtocol,
  opaqueTls,
];

export interface ProtocolRegistry {
  /** Adds a protocol, or replaces the one with the same name (how TLS plugs in). */
  register(def: ProtocolDefinition): void;
  get(name: ProtocolName): ProtocolDefinition | undefined;
  list(): ProtocolDefinition[];
  /** The definitions to run, in registry order; all when `enabled` is undefined. */
  select(enabled?: readonly string[]): ProtocolDefinition[];
}

export function createRegistry(defs: readonly ProtocolDefinition[] = BUILTIN_PROTOCOLS): ProtocolRegistry {
  const byName = new Map<string, ProtocolDefinition>();
  for (const d of defs) byName.set(d.name, d);
  return {
    register(def) {
      byName.set(def.name, def);
    },
    get(name) {
      return byName.get(name);
    },
    list() {
      return [...byName.values()];
    },
    select(enabled) {
      const all = [...byName.values()];
      if (enabled === undefined) return all;
      const want = new Set(enabled);
      return all.filter((d) => want.has(d.name));
    },
  };
}

/** The process-wide registry the sidecar uses. */
export const registry: ProtocolRegistry = createRegistry();

/** Bytes buffered per side while no parser has decided; beyond it the connection is ignored. */
const MAX_DETECT_BYTES = 16 * 1024;
/** A connection joined mid-stream gets this many chunks to show a message start. */
const MIDSTREAM_DETECT_CHUNKS = 64;

export interface DispatcherOptions {
  conn: ConnectionInfo;
  /** Definitions that detection may pick (the enabled ones). */
  protocols: readonly ProtocolDefinition[];
  /** Resolves switchProtocol targets (may include protocols never detected by content). */
  lookup(name: ProtocolName): ProtocolDefinition | undefined;
  limits: ParserLimits;
  counters: ParserCounters;
  log: Logger;
  emit(tx: Transaction, conn: ConnectionInfo): void;
  /** Called once when detection gives up on the connection. */
  onUndetected?(conn: ConnectionInfo): void;
}

export interface ConnectionDispatcher {
  onData(side: Side, chunk: Buffer, tsMs: number): void;
  onGap(side: Side, bytes: number, tsMs: number): void;
  onClose(tsMs: number): void;
  /** The protocol in charge, once detected. */
  readonly protocol: ProtocolName | undefined;
}

const D_DETECTING = 0;
const D_ACTIVE = 1;
const D_IGNORED = 2;

/**
 * Runs one connection: detection first, then the chosen session, then whatever it
 * switches to. Detection asks the definitions whose port hints match the server port
 * first; the first 'match' wins; all 'no' (on a connection seen from its start) means
 * nobody here speaks it and its bytes are ignored from then on.
 */
export function createDispatcher(opts: DispatcherOptions): ConnectionDispatcher {
  const { conn } = opts;
  const ordered = [...opts.protocols].sort(
    (a, b) =>
      Number(b.defaultPorts.includes(conn.server.port)) - Number(a.defaultPorts.includes(conn.server.port)),
  );
  let state = conn.midstream || ordered.length > 0 ? D_DETECTING : D_IGNORED;
  let session: ProtocolSession | undefined;
  let protocol: ProtocolName | undefined;
  let held: { side: Side; bytes: Buffer; tsMs: number }[] = [];
  const heldBytes = { client: 0, server: 0 };
  let midstreamTries = 0;
  /** Joined mid-stream, or lost bytes before detection: look for a message start. */
  let resyncing = conn.midstream;
  let lastTs = 0;

  function start(def: ProtocolDefinition, handoff: Handoff | undefined): void {
    protocol = def.name;
    state = D_ACTIVE;
    const ctx: SessionContext = {
      conn,
      limits: opts.limits,
      counters: opts.counters,
      log: opts.log,
      emit: (tx) => opts.emit(tx, conn),
      switchProtocol,
    };
    if (handoff) ctx.handoff = handoff;
    session = def.create(ctx);
  }

  function switchProtocol(
    name: ProtocolName,
    carry?: { side: Side; bytes: Buffer }[],
    handoff?: Handoff,
  ): void {
    const def = opts.lookup(name);
    if (!def) {
      opts.counters.notParsed(protocol ?? name, `${NOT_PARSED_NO_PARSER}${name}`);
      ignore();
      return;
    }
    start(def, handoff);
    const next = session!;
    for (const c of carry ?? []) if (session === next) next.onData(c.side, c.bytes, lastTs);
  }

  function ignore(): void {
    state = D_IGNORED;
    session = undefined;
    held = [];
    opts.onUndetected?.(conn);
  }

  function detect(side: Side): void {
    const parts = held.filter((h) => h.side === side).map((h) => h.bytes);
    const first = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    let undecided = false;
    for (const def of ordered) {
      const d = def.detect(first, side);
      if (d === 'match') {
        const replay = held;
        held = [];
        start(def, undefined);
        const chosen = session;
        for (const h of replay) if (session === chosen) chosen!.onData(h.side, h.bytes, h.tsMs);
        return;
      }
      if (d === 'need-more') undecided = true;
    }
    if (undecided && heldBytes[side] < MAX_DETECT_BYTES) return;
    if (resyncing && midstreamTries++ < MIDSTREAM_DETECT_CHUNKS) {
      // Joined mid-message: forget these bytes and look again at the next chunk.
      held = held.filter((h) => h.side !== side);
      heldBytes[side] = 0;
      return;
    }
    ignore();
  }

  return {
    get protocol() {
      return protocol;
    },
    onData(side, chunk, tsMs) {
      lastTs = tsMs;
      if (state === D_ACTIVE) {
        session!.onData(side, chunk, tsMs);
        return;
      }
      if (state === D_IGNORED) return;
      // Chunks are views of capture buffers: copy what waits for a decision.
      held.push({ side, bytes: Buffer.from(chunk), tsMs });
      heldBytes[side] += chunk.length;
      detect(side);
    },
    onGap(side, bytes, tsMs) {
      lastTs = tsMs;
      if (state === D_ACTIVE) {
        session!.onGap(side, bytes, tsMs);
        return;
      }
      if (state === D_DETECTING) {
        // Detection restarts after the hole, as if joined mid-stream.
        held = held.filter((h) => h.side !== side);
        heldBytes[side] = 0;
        resyncing = true;
      }
    },
    onClose(tsMs) {
      if (state === D_ACTIVE) session!.onClose(Math.max(tsMs, lastTs));
      state = D_IGNORED;
      session = undefined;
      held = [];
    },
  };
}
