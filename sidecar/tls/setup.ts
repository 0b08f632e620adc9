/**
 * Wiring for the sidecar: from rules.yaml `capture.tlsKeyLog` to a `tls` protocol to
 * register (`registry.register(tls.protocol)`), a key log tailer and the TLS metrics.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/log.ts';
import { TLS_KEYLOG_PATH } from '../../lib/names.ts';
import type { ProtocolDefinition } from '../protocols/types.ts';
import { KeyLogStore, KeyLogTailer } from './keylog.ts';
import { registerTlsMetrics } from './metrics.ts';
import { createTlsProtocol, DEFAULT_KEY_WAIT_MS } from './session.ts';
import type { TlsStats } from './stats.ts';

export interface TlsDecryptionOptions {
  /** rules.yaml `capture.tlsKeyLog`; absent: handshake tracking only, nothing decrypted. */
  keyLog?: { path?: string; waitMs?: number };
  /** Parsers for decrypted streams (HTTP/1.1, HTTP/2, ...). */
  innerProtocols: readonly ProtocolDefinition[];
  metrics?: Registry;
  log?: Logger;
}

export interface TlsDecryption {
  protocol: ProtocolDefinition & { stats: TlsStats };
  store: KeyLogStore | undefined;
  tailer: KeyLogTailer | undefined;
  /** Stops tailing and wipes every secret still held. */
  stop(): void;
}

export function startTlsDecryption(options: TlsDecryptionOptions): TlsDecryption {
  const store = options.keyLog === undefined ? undefined : new KeyLogStore();
  const tailer =
    store === undefined
      ? undefined
      : new KeyLogTailer(
          options.keyLog?.path ?? TLS_KEYLOG_PATH,
          store,
          options.log ? { log: options.log } : {},
        );
  tailer?.start();
  const protocol = createTlsProtocol({
    keyLog: store,
    keyWaitMs: options.keyLog?.waitMs ?? DEFAULT_KEY_WAIT_MS,
    innerProtocols: options.innerProtocols,
  });
  if (options.metrics !== undefined) registerTlsMetrics(options.metrics, protocol.stats, store?.stats);
  return {
    protocol,
    store,
    tailer,
    stop() {
      tailer?.stop();
      store?.clear();
    },
  };
}
