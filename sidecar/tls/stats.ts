/**
 * Plain counters for the TLS layer. Incrementing a field costs nothing when nobody reads
 * it; sidecar/tls/metrics.ts exposes them to Prometheus at scrape time.
 */

/** How a connection ended up, one label value each. */
export type ConnectionOutcome =
  | 'decrypted'
  | 'no-key-log'
  | 'keys-missing'
  | 'unsupported-suite'
  | 'no-handshake'
  | 'decrypt-failed'
  | 'malformed';

export interface TlsStats {
  connections: Record<ConnectionOutcome, number>;
  /** Records opened successfully. */
  recordsDecrypted: number;
  /** Records whose authentication tag did not verify (wrong or missing key). */
  recordsFailed: number;
  bytesDecrypted: number;
  /** Ciphertext held while waiting for keys that had to be thrown away (buffer full). */
  pendingDroppedBytes: number;
  /** Key updates followed (TLS 1.3 KeyUpdate). */
  keyUpdates: number;
  /** Decrypted streams whose protocol no inner parser recognised. */
  unknownInnerProtocol: number;
}

export function newTlsStats(): TlsStats {
  return {
    connections: {
      decrypted: 0,
      'no-key-log': 0,
      'keys-missing': 0,
      'unsupported-suite': 0,
      'no-handshake': 0,
      'decrypt-failed': 0,
      malformed: 0,
    },
    recordsDecrypted: 0,
    recordsFailed: 0,
    bytesDecrypted: 0,
    pendingDroppedBytes: 0,
    keyUpdates: 0,
    unknownInnerProtocol: 0,
  };
}
