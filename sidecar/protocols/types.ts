/**
 * The one small interface every protocol parser implements. Adding a protocol means a
 * folder under sidecar/protocols/ that exports a ProtocolDefinition, plus one line in the
 * registry (sidecar/protocols/registry.ts).
 *
 * Flow: TCP reassembly hands each connection's in-order bytes to the registry, which
 * offers the first bytes of each direction to every enabled definition's `detect` (ports
 * are only a tie-break hint). The winner's `create` makes one session per connection; the
 * session keeps one decoder per direction (each with a single `parse(chunk, callback)`
 * entry point) and pairs requests with responses into Transactions.
 */
import type { Logger } from '../../lib/log.ts';
import type {
  DbInfo,
  Endpoint,
  GrpcInfo,
  HttpInfo,
  McpInfo,
  ProtocolName,
  TlsInfo,
  WebSocketInfo,
} from '../signal/types.ts';

/** Which end of the TCP connection sent the bytes: the initiator (client) or the acceptor. */
export type Side = 'client' | 'server';

export interface ConnectionInfo {
  /** Stable for the life of the connection, e.g. `10.0.0.5:43122>10.0.0.9:443#1`. */
  id: string;
  client: Endpoint;
  server: Endpoint;
  /** Seen from the pod: outbound when the pod opened the connection. */
  direction: 'outbound' | 'inbound';
  /** Set when the bytes are plaintext recovered from TLS. */
  tls?: TlsInfo & { alpn?: string };
  /** True when capture joined the connection after its start (no SYN seen). */
  midstream: boolean;
}

/** Raw material for rules and LLM extraction; never exported as is. */
export interface Payload {
  headers?: Record<string, string>;
  /** Decoded body (content-encoding removed) up to the body limit. */
  body?: Buffer;
  bodyTruncated?: boolean;
  contentType?: string;
  /** Server-Sent Events parsed incrementally, in order. */
  events?: Array<{ event?: string; data: string; atMs: number }>;
  /** Time of the first body byte (ms since epoch), for time to first token. */
  firstByteMs?: number;
}

/**
 * What a parser emits for one request/response exchange (or one connection, for
 * WebSocket). The pipeline adds id, pod, policy, addresses, direction and timestamps' text.
 */
export interface Transaction {
  protocol: ProtocolName;
  /** ms since the epoch (capture time) of the first request byte. */
  startMs: number;
  /** ms since the epoch of the last response byte. */
  endMs: number;
  operation?: string;
  status?: number | string;
  requestBytes: number;
  responseBytes: number;
  complete: boolean;
  http?: HttpInfo;
  grpc?: GrpcInfo;
  websocket?: WebSocketInfo;
  db?: DbInfo;
  mcp?: McpInfo;
  request?: Payload;
  response?: Payload;
}

export interface ParserLimits {
  /** Bodies are kept up to this many bytes; the rest is counted, not kept. */
  maxBodyBytes: number;
  /** Upper bound for any one buffered message before it is dropped as malformed. */
  maxMessageBytes: number;
  /** WebSocket: also emit one Transaction per data message (a rule asked for them). */
  websocketMessages?: boolean;
}

/** Stable `reason` values for ParserCounters.notParsed (label values of a metric). */
export const NOT_PARSED_TLS = 'tls';
export const NOT_PARSED_GSSAPI = 'gssapi';
export const NOT_PARSED_COMPRESSED = 'compressed';
/** Switched to a protocol with no parser here: `no-parser-for-<name>`. */
export const NOT_PARSED_NO_PARSER = 'no-parser-for-';

export interface ParserCounters {
  /** A message the parser could not make sense of; it resynchronizes or gives up. */
  parseError(protocol: ProtocolName, code: string): void;
  /**
   * A connection recognized but deliberately not parsed from here on (it switched to TLS or
   * GSSAPI encryption, uses the MySQL compressed protocol, upgraded to a protocol nobody
   * here parses). The traffic is fine, so this is not a parse error.
   */
  notParsed(protocol: ProtocolName, reason: string): void;
  /** Bytes a bounded buffer had to drop. */
  dropped(protocol: ProtocolName, reason: string, bytes: number): void;
}

/** What the protocol a connection switched from tells the next one (e.g. the HTTP upgrade). */
export interface Handoff {
  /** When the exchange that switched protocols started (ms since the epoch). */
  startMs: number;
  /** The upgrade request and response, headers included (WebSocket reads its extensions). */
  http?: HttpInfo;
  /**
   * The switching exchange itself, not emitted by the protocol it came from because the
   * next one reports it: after an h2c Upgrade the request is HTTP/2 stream 1, emitted once
   * as `http2` with its real response (bytes, body and completeness carried over from here).
   */
  exchange?: Transaction;
}

export interface SessionContext {
  conn: ConnectionInfo;
  /** Set when this session continues a connection that switched protocols. */
  handoff?: Handoff;
  limits: ParserLimits;
  counters: ParserCounters;
  log: Logger;
  emit(tx: Transaction): void;
  /**
   * Hands the rest of the connection to another protocol (HTTP Upgrade to WebSocket or
   * h2c, TLS to its decrypted stream's protocol). Bytes already buffered after the switch
   * point are passed along by the caller.
   */
  switchProtocol(name: ProtocolName, carry?: { side: Side; bytes: Buffer }[], handoff?: Handoff): void;
}

export interface ProtocolSession {
  /** In-order bytes from one side; `tsMs` is the capture time of the chunk's first byte. */
  onData(side: Side, chunk: Buffer, tsMs: number): void;
  /** Reassembly lost `bytes` on `side`: mark what is in flight incomplete and resync. */
  onGap(side: Side, bytes: number, tsMs: number): void;
  /** FIN/RST or idle timeout: flush what can be flushed, marked incomplete if cut short. */
  onClose(tsMs: number): void;
}

export type Detection = 'match' | 'no' | 'need-more';

export interface ProtocolDefinition {
  name: ProtocolName;
  /** Ports that make this protocol the first one asked (a hint, never a decision). */
  defaultPorts: readonly number[];
  /** Decides from the first bytes one side sent whether the connection speaks this protocol. */
  detect(first: Buffer, side: Side): Detection;
  create(ctx: SessionContext): ProtocolSession;
}
