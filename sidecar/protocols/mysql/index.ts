/**
 * MySQL / MariaDB client/server protocol: handshake and capabilities, text and prepared
 * statements, result sets, multi-statements, errors. Compression and TLS are detected and
 * reported as not parsed. Public surface: the protocol definition and the session.
 */
import type { Detection, ProtocolDefinition, Side } from '../types.ts';
import * as M from './constants.ts';
import { type MysqlOptions, MysqlSession } from './session.ts';

export { type MysqlOptions, MysqlSession, parseErr, readLenenc } from './session.ts';

const isPrintable = (b: number): boolean => b >= 0x20 && b < 0x7f;

/**
 * The server speaks first with a protocol-10 greeting (`len seq=0 0x0a version\0`); a
 * connection joined midway is recognized by a client command packet (sequence 0) whose
 * declared length matches what is there.
 */
export function detectMysql(first: Buffer, side: Side): Detection {
  if (first.length < 5) return 'need-more';
  const len = first.readUIntLE(0, 3);
  const seq = first[3];
  if (side === 'server') {
    if (seq !== 0 || first[4] !== M.PROTOCOL_VERSION_10 || len < 40 || len > 1024) return 'no';
    for (let i = 5; i < Math.min(first.length, 4 + len); i++) {
      const b = first[i]!;
      if (b === 0) return i > 5 ? 'match' : 'no';
      if (!isPrintable(b)) return 'no';
    }
    return first.length >= 4 + len ? 'no' : 'need-more';
  }
  if (seq !== 0 || len === 0 || len > 1 << 24) return 'no';
  const cmd = first[4]!;
  if (!M.RESYNC_COMMANDS.has(cmd)) return 'no';
  if (first.length < Math.min(4 + len, 64)) return 'need-more';
  if (cmd === M.COM_QUERY || cmd === M.COM_STMT_PREPARE) {
    for (let i = 5; i < Math.min(first.length, 4 + len, 64); i++) {
      const b = first[i]!;
      if (!isPrintable(b) && b !== 0x0a && b !== 0x0d && b !== 0x09 && b < 0x80) return 'no';
    }
    return 'match';
  }
  return len === first.length - 4 ? 'match' : 'no';
}

export function createMysqlProtocol(
  options: MysqlOptions = { statements: 'normalized' },
): ProtocolDefinition {
  return {
    name: 'mysql',
    defaultPorts: [3306],
    detect: detectMysql,
    create: (ctx) => new MysqlSession(ctx, options),
  };
}

/**
 * The registry's entry. Transactions carry the statement as sent: the redactor normalizes
 * it (literals → `?`) before any signal leaves the sidecar unless the policy's
 * `redaction.sql` is `full`, so that setting can take effect on reload.
 */
export const mysqlProtocol: ProtocolDefinition = createMysqlProtocol({ statements: 'full' });
