/**
 * Test helpers for protocol parsers (used by *.test.ts only): a SessionContext that
 * records what a session emits, and drivers that deliver a conversation split at every
 * offset or in random pieces.
 */
import { silentLogger } from '../../lib/log.ts';
import type { ProtocolName } from '../signal/types.ts';
import type {
  ConnectionInfo,
  Handoff,
  ParserLimits,
  ProtocolDefinition,
  ProtocolSession,
  SessionContext,
  Side,
  Transaction,
} from './types.ts';

export interface Recorded {
  transactions: Transaction[];
  parseErrors: { protocol: string; code: string }[];
  notParsed: { protocol: string; reason: string }[];
  dropped: { protocol: string; reason: string; bytes: number }[];
  switches: { name: ProtocolName; carry: { side: Side; bytes: Buffer }[]; handoff: Handoff | undefined }[];
}

export function testConn(overrides: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    id: '10.0.0.1:40000>10.0.0.2:80#1',
    client: { ip: '10.0.0.1', port: 40000 },
    server: { ip: '10.0.0.2', port: 80 },
    direction: 'outbound',
    midstream: false,
    ...overrides,
  };
}

export function recordingContext(
  limits: Partial<ParserLimits> = {},
  conn: ConnectionInfo = testConn(),
  handoff?: Handoff,
): { ctx: SessionContext; rec: Recorded } {
  const rec: Recorded = { transactions: [], parseErrors: [], notParsed: [], dropped: [], switches: [] };
  const ctx: SessionContext = {
    conn,
    limits: { maxBodyBytes: 1 << 20, maxMessageBytes: 16 << 20, ...limits },
    counters: {
      parseError: (protocol, code) => rec.parseErrors.push({ protocol, code }),
      notParsed: (protocol, reason) => rec.notParsed.push({ protocol, reason }),
      dropped: (protocol, reason, bytes) => rec.dropped.push({ protocol, reason, bytes }),
    },
    log: silentLogger,
    emit: (tx) => rec.transactions.push(tx),
    switchProtocol: (name, carry, h) =>
      rec.switches.push({
        name,
        carry: (carry ?? []).map((c) => ({ side: c.side, bytes: Buffer.from(c.bytes) })),
        handoff: h,
      }),
  };
  if (handoff) ctx.handoff = handoff;
  return { ctx, rec };
}

export interface Step {
  side: Side;
  bytes: Buffer;
  tsMs?: number;
}

/**
 * Feeds `steps` to a fresh session, each step's bytes cut at the given split points.
 * Chunks are copied into a scratch buffer that is overwritten afterwards, the way a
 * capture buffer is reused, so a parser that keeps views without copying fails tests.
 */
export function drive(
  def: ProtocolDefinition,
  steps: readonly Step[],
  split: (step: Step, index: number) => number[],
  limits: Partial<ParserLimits> = {},
  conn?: ConnectionInfo,
  handoff?: Handoff,
): Recorded {
  const { ctx, rec } = recordingContext(limits, conn, handoff);
  const session: ProtocolSession = def.create(ctx);
  let ts = 1000;
  steps.forEach((step, i) => {
    const cuts = [0, ...split(step, i).filter((c) => c > 0 && c < step.bytes.length), step.bytes.length];
    for (let k = 0; k + 1 < cuts.length; k++) {
      const scratch = Buffer.from(step.bytes.subarray(cuts[k], cuts[k + 1]));
      session.onData(step.side, scratch, step.tsMs ?? ts);
      scratch.fill(0xee);
    }
    ts += 1;
  });
  session.onClose(ts);
  return rec;
}

/** Every way of splitting one step in two, the others whole: yields (stepIndex, offset). */
export function* everySplit(steps: readonly Step[]): Generator<[number, number]> {
  for (let i = 0; i < steps.length; i++) {
    for (let off = 1; off < steps[i]!.bytes.length; off++) yield [i, off];
  }
}

/** One direction's bytes of a conversation, as the session tests write it. */
export type Turn = readonly [Side, Buffer];

/**
 * Feeds a conversation to a session turn by turn, 10 ms apart, each turn cut by `split`
 * (whole by default), then closes it. Each piece is a scratch copy overwritten afterwards,
 * like a reused capture buffer, so a parser that keeps views fails the test.
 */
export function feedTurns(
  session: ProtocolSession,
  turns: readonly Turn[],
  split?: (bytes: Buffer) => Buffer[],
): void {
  let ts = 1000;
  for (const [side, bytes] of turns) {
    for (const part of split ? split(bytes) : [bytes]) {
      const scratch = Buffer.from(part);
      session.onData(side, scratch, ts);
      scratch.fill(0xee);
    }
    ts += 10;
  }
  session.onClose(ts);
}

/** Fuzz input: the random bytes alone, or (mix) after as many bytes of a valid conversation. */
export function fuzzBytes(valid: Buffer, random: Uint8Array, mix: boolean): Buffer {
  return mix ? Buffer.concat([valid.subarray(0, random.length), Buffer.from(random)]) : Buffer.from(random);
}

/**
 * Feeds `data` in pieces of the sizes in `cuts` (cycled), every `serverEvery`-th piece as
 * the server's and the rest as the client's, stamped with its offset; then closes the session.
 */
export function feedPieces(
  session: ProtocolSession,
  data: Buffer,
  cuts: readonly number[],
  serverEvery: number,
): void {
  let pos = 0;
  let i = 0;
  while (pos < data.length) {
    const n = cuts[i++ % cuts.length]!;
    session.onData(i % serverEvery === 0 ? 'server' : 'client', data.subarray(pos, pos + n), pos);
    pos += n;
  }
  session.onClose(pos);
}

/** The database fields a PostgreSQL or MySQL session test compares per transaction. */
export const dbView = (t: Transaction) => ({
  op: t.operation,
  status: t.status,
  stmt: t.db?.statement,
  table: t.db?.table,
  rows: t.db?.rows,
  err: t.db?.errorMessage,
  complete: t.complete,
});
