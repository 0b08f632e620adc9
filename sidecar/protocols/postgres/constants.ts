/** PostgreSQL frontend/backend protocol 3.0 codes (PostgreSQL docs, "Message Formats"). */

const code = (c: string): number => c.charCodeAt(0);

/** Startup-phase request codes (the int32 after the length of an untyped first message). */
export const PROTOCOL_V3 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

/** Messages the client (frontend) sends. */
export const F_QUERY = code('Q');
export const F_PARSE = code('P');
export const F_BIND = code('B');
export const F_DESCRIBE = code('D');
export const F_EXECUTE = code('E');
export const F_SYNC = code('S');
export const F_FLUSH = code('H');
export const F_CLOSE = code('C');
export const F_TERMINATE = code('X');
export const F_COPY_DATA = code('d');
export const F_COPY_DONE = code('c');
export const F_COPY_FAIL = code('f');
export const F_PASSWORD = code('p');
export const F_FUNCTION_CALL = code('F');

/** Messages the server (backend) sends. */
export const B_AUTHENTICATION = code('R');
export const B_PARAMETER_STATUS = code('S');
export const B_BACKEND_KEY_DATA = code('K');
export const B_READY_FOR_QUERY = code('Z');
export const B_ROW_DESCRIPTION = code('T');
export const B_DATA_ROW = code('D');
export const B_COMMAND_COMPLETE = code('C');
export const B_ERROR_RESPONSE = code('E');
export const B_NOTICE_RESPONSE = code('N');
export const B_EMPTY_QUERY = code('I');
export const B_PARSE_COMPLETE = code('1');
export const B_BIND_COMPLETE = code('2');
export const B_CLOSE_COMPLETE = code('3');
export const B_NO_DATA = code('n');
export const B_PARAMETER_DESCRIPTION = code('t');
export const B_PORTAL_SUSPENDED = code('s');
export const B_COPY_IN = code('G');
export const B_COPY_OUT = code('H');
export const B_COPY_BOTH = code('W');
export const B_COPY_DATA = code('d');
export const B_COPY_DONE = code('c');
export const B_NOTIFICATION = code('A');
export const B_NEGOTIATE_VERSION = code('v');
export const B_FUNCTION_CALL_RESPONSE = code('V');

/** Single-byte answers to SSLRequest / GSSENCRequest. */
export const SSL_ACCEPT = code('S');
export const GSS_ACCEPT = code('G');
export const ENCRYPTION_REFUSED = code('N');

/** ErrorResponse / NoticeResponse field codes. */
export const FIELD_SEVERITY = code('S');
export const FIELD_SQLSTATE = code('C');
export const FIELD_MESSAGE = code('M');

/** ReadyForQuery transaction status. */
export const TX_IDLE = code('I');
export const TX_IN_BLOCK = code('T');
export const TX_FAILED = code('E');

export const FRONTEND_TYPES: ReadonlySet<number> = new Set([...'QPBDESHCXdcfpF'].map((c) => c.charCodeAt(0)));
export const BACKEND_TYPES: ReadonlySet<number> = new Set(
  [...'RSKZTDCENI123ntsGHWdcAvV'].map((c) => c.charCodeAt(0)),
);

/** Longest message PostgreSQL itself accepts (1 GiB); anything larger is not PostgreSQL. */
export const MAX_PROTOCOL_MESSAGE = 0x40000000;
