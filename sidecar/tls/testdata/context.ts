/** A SessionContext for unit tests that records what a session emits and counts. */
import { silentLogger } from '../../../lib/log.ts';
import type {
  ConnectionInfo,
  ProtocolDefinition,
  ProtocolSession,
  SessionContext,
  Side,
  Transaction,
} from '../../protocols/types.ts';

export interface TestContext {
  ctx: SessionContext;
  emitted: Transaction[];
  parseErrors: string[];
  dropped: Array<{ reason: string; bytes: number }>;
}

export function testContext(): TestContext {
  const conn: ConnectionInfo = {
    id: '10.0.0.5:43122>10.0.0.9:443#1',
    client: { ip: '10.0.0.5', port: 43122 },
    server: { ip: '10.0.0.9', port: 443 },
    direction: 'outbound',
    midstream: false,
  };
  const out: TestContext = {
    emitted: [],
    parseErrors: [],
    dropped: [],
    ctx: {
      conn,
      limits: { maxBodyBytes: 1 << 20, maxMessageBytes: 1 << 22 },
      counters: {
        parseError: (_p, code) => out.parseErrors.push(code),
        notParsed: () => {},
        dropped: (_p, reason, bytes) => out.dropped.push({ reason, bytes }),
      },
      log: silentLogger,
      emit: (tx) => out.emitted.push(tx),
      switchProtocol: () => {},
    },
  };
  return out;
}

/** An inner protocol that accepts anything and records the plaintext per side. */
export function recordingProtocol(name: 'http' | 'http2' = 'http'): ProtocolDefinition & {
  received: Record<Side, Buffer[]>;
  closed: number;
} {
  const received: Record<Side, Buffer[]> = { client: [], server: [] };
  const def = {
    name,
    defaultPorts: [],
    received,
    closed: 0,
    detect: () => 'match' as const,
    create: (): ProtocolSession => ({
      onData: (side: Side, chunk: Buffer) => {
        received[side].push(Buffer.from(chunk));
      },
      onGap: () => {},
      onClose: () => {
        def.closed++;
      },
    }),
  };
  return def;
}
