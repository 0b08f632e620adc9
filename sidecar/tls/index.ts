/**
 * TLS visibility: handshake tracking for every TLS connection and, with the application's
 * key log, decryption of TLS 1.2 and 1.3 so that the plaintext goes through the same
 * parsers as cleartext. See docs/tls.md.
 */

export {
  type KeyLogStats,
  KeyLogStore,
  type KeyLogStoreOptions,
  KeyLogTailer,
  type KeyLogTailerOptions,
  parseKeyLogLine,
} from './keylog.ts';
export { registerTlsMetrics } from './metrics.ts';
export { createTlsProtocol, DEFAULT_KEY_WAIT_MS, detectTls, type TlsProtocolOptions } from './session.ts';
export {
  type KeyLogSpec,
  startTlsDecryption,
  type TlsDecryption,
  type TlsDecryptionOptions,
} from './setup.ts';
export { newTlsStats, type TlsStats } from './stats.ts';
