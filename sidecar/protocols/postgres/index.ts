/**
 * PostgreSQL wire protocol (3.0): startup, simple and extended query, COPY, errors.
 * Public surface: the protocol definition for the registry and the session's options.
 */
import type { Detection, ProtocolDefinition, Side } from '../types.ts';
import * as C from './constants.ts';
import { type PostgresOptions, PostgresSession } from './session.ts';

export { type PostgresOptions, PostgresSession, parseCommandTag, parseErrorFields } from './session.ts';

/**
 * A connection is PostgreSQL when the client opens with a startup packet (protocol 3.0,
 * SSLRequest, GSSENCRequest or CancelRequest) or, joined midway, with a Query/Parse whose
 * declared length ends exactly on a NUL.
 */
export function detectPostgres(first: Buffer, side: Side): Detection {
  if (side === 'server') {
    // ReadyForQuery is the only server message distinctive on its own.
    if (first.length < 6) return first[0] === C.B_READY_FOR_QUERY ? 'need-more' : 'no';
    return first[0] === C.B_READY_FOR_QUERY &&
      first.readUInt32BE(1) === 5 &&
      [C.TX_IDLE, C.TX_IN_BLOCK, C.TX_FAILED].includes(first[5]!)
      ? 'match'
      : 'no';
  }
  if (first.length < 8) {
    return first.length >= 1 && (first[0] === 0 || first[0] === C.F_QUERY || first[0] === C.F_PARSE)
      ? 'need-more'
      : 'no';
  }
  const len = first.readUInt32BE(0);
  const code = first.readUInt32BE(4);
  if (code === C.SSL_REQUEST || code === C.GSSENC_REQUEST) return len === 8 ? 'match' : 'no';
  if (code === C.CANCEL_REQUEST) return len === 16 ? 'match' : 'no';
  if (code === C.PROTOCOL_V3) return len >= 8 && len < 10_000 ? 'match' : 'no';
  const type = first[0];
  if (type === C.F_QUERY || type === C.F_PARSE) {
    const mlen = first.readUInt32BE(1);
    if (mlen < 6 || mlen > 1 << 20) return 'no';
    if (first.length < mlen + 1) return 'need-more';
    return first[mlen] === 0 ? 'match' : 'no';
  }
  return 'no';
}

export function createPostgresProtocol(
  options: PostgresOptions = { statements: 'normalized' },
): ProtocolDefinition {
  return {
    name: 'postgres',
    defaultPorts: [5432],
    detect: detectPostgres,
    create: (ctx) => new PostgresSession(ctx, options),
  };
}

/**
 * The registry's entry. Transactions carry the statement as sent: the redactor normalizes
 * it (literals → `?`) before any signal leaves the sidecar unless the policy's
 * `redaction.sql` is `full`, so that setting can take effect on reload.
 */
export const postgresProtocol: ProtocolDefinition = createPostgresProtocol({ statements: 'full' });
