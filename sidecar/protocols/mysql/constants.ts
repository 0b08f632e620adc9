/** MySQL / MariaDB client/server protocol codes (MySQL "Client/Server Protocol" docs, MariaDB KB). */

/** Capability flags (the 32 bits both sides announce; the connection uses their intersection). */
export const CLIENT_LONG_PASSWORD = 0x1;
export const CLIENT_CONNECT_WITH_DB = 0x8;
export const CLIENT_COMPRESS = 0x20;
export const CLIENT_PROTOCOL_41 = 0x200;
export const CLIENT_SSL = 0x800;
export const CLIENT_TRANSACTIONS = 0x2000;
export const CLIENT_SECURE_CONNECTION = 0x8000;
export const CLIENT_MULTI_STATEMENTS = 0x10000;
export const CLIENT_MULTI_RESULTS = 0x20000;
export const CLIENT_PS_MULTI_RESULTS = 0x40000;
export const CLIENT_PLUGIN_AUTH = 0x80000;
export const CLIENT_SESSION_TRACK = 0x800000;
export const CLIENT_DEPRECATE_EOF = 0x1000000;
export const CLIENT_ZSTD_COMPRESSION = 0x4000000;
export const CLIENT_QUERY_ATTRIBUTES = 0x8000000;
/** MariaDB extended capability (bits 32..63, sent in the handshake's reserved bytes). */
export const MARIADB_CLIENT_CACHE_METADATA = 0x10;

/** Server status flags (OK / EOF packets). */
export const SERVER_STATUS_IN_TRANS = 0x1;
export const SERVER_MORE_RESULTS_EXISTS = 0x8;
export const SERVER_STATUS_CURSOR_EXISTS = 0x40;

/** Command bytes (first payload byte of a client packet with sequence 0). */
export const COM_QUIT = 0x01;
export const COM_INIT_DB = 0x02;
export const COM_QUERY = 0x03;
export const COM_FIELD_LIST = 0x04;
export const COM_STATISTICS = 0x09;
export const COM_PING = 0x0e;
export const COM_CHANGE_USER = 0x11;
export const COM_STMT_PREPARE = 0x16;
export const COM_STMT_EXECUTE = 0x17;
export const COM_STMT_SEND_LONG_DATA = 0x18;
export const COM_STMT_CLOSE = 0x19;
export const COM_STMT_RESET = 0x1a;
export const COM_SET_OPTION = 0x1b;
export const COM_STMT_FETCH = 0x1c;
export const COM_RESET_CONNECTION = 0x1f;
export const COM_STMT_BULK_EXECUTE = 0xfa;

/** Response packet headers. */
export const OK_HEADER = 0x00;
export const EOF_HEADER = 0xfe;
export const ERR_HEADER = 0xff;
export const LOCAL_INFILE_HEADER = 0xfb;
export const AUTH_MORE_DATA = 0x01;

export const PROTOCOL_VERSION_10 = 10;
/** A payload of exactly this length continues in the next packet. */
export const MAX_PACKET_PAYLOAD = 0xffffff;
/** MariaDB progress reports ride in ERR packets with this error number. */
export const PROGRESS_REPORT_ERRNO = 0xffff;

/** Commands the server answers with nothing at all. */
export const NO_RESPONSE_COMMANDS: ReadonlySet<number> = new Set([
  COM_QUIT,
  COM_STMT_CLOSE,
  COM_STMT_SEND_LONG_DATA,
]);
/** Commands whose first byte makes a believable start of a client packet when resyncing. */
export const RESYNC_COMMANDS: ReadonlySet<number> = new Set([
  COM_QUERY,
  COM_STMT_PREPARE,
  COM_STMT_EXECUTE,
  COM_PING,
  COM_INIT_DB,
]);
