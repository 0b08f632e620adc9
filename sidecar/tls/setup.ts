/**
 * Wiring for the sidecar: from rules.yaml `capture.tlsKeyLog` to a `tls` protocol to
 * register (`registry.register(tls.protocol)`), a key log tailer and the TLS metrics.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/log.ts';
import { TLS_KEYLOG_PATH } from '../../lib/names.ts';
import type { ProtocolDefinition } from '../protocols/types.ts';
import { KeyLogStore, KeyLogTailer, newKeyLogStats } from './keylog.ts';
import { registerTlsMetrics } from './metrics.ts';
import { createTlsProtocol, DEFAULT_KEY_WAIT_MS, type TlsProtocolOptions } from './session.ts';
import type { TlsStats } from './stats.ts';

/** rules.yaml `capture.tlsKeyLog`. */
export interface KeyLogSpec {
  path?: string;
  waitMs?: number;
}

export interface TlsDecryptionOptions {
  /** rules.yaml `capture.tlsKeyLog`; absent: handshake tracking only, nothing decrypted. */
  keyLog?: KeyLogSpec;
  /** Parsers for decrypted streams (HTTP/1.1, HTTP/2, ...). */
  innerProtocols: readonly ProtocolDefinition[];
  metrics?: Registry;
  log?: Logger;
}

export interface TlsDecryption {
  protocol: ProtocolDefinition & { stats: TlsStats };
  readonly store: KeyLogStore | undefined;
  readonly tailer: KeyLogTailer | undefined;
  /**
   * Follows a rules reload: starts, retargets or stops the key log. Connections that start
   * afterwards use it; one already waiting for keys keeps waiting on the store it asked.
   */
  setKeyLog(keyLog: KeyLogSpec | undefined): void;
  /**
   * Shutdown, before the pipeline's output is flushed: reads the key log one last time and
   * answers every connection still waiting for keys now, so that what they decrypt (or their
   * `tls` summaries) is emitted rather than lost.
   */
  settle(): void;
  /** Stops tailing and wipes every secret still held. */
  stop(): void;
}

export function startTlsDecryption(options: TlsDecryptionOptions): TlsDecryption {
  const keyStats = newKeyLogStats();
  let store: KeyLogStore | undefined;
  let tailer: KeyLogTailer | undefined;
  // Sessions read keyLog and keyWaitMs from this object when they first need keys, so a
  // reload that changes the key log reaches every connection that starts after it.
  const protocolOptions: TlsProtocolOptions = {
    keyWaitMs: DEFAULT_KEY_WAIT_MS,
    innerProtocols: options.innerProtocols,
  };
  const protocol = createTlsProtocol(protocolOptions);

  function setKeyLog(spec: KeyLogSpec | undefined): void {
    if (spec === undefined) {
      tailer?.stop();
      tailer = undefined;
      store?.settleAll();
      store?.clear();
      store = undefined;
      protocolOptions.keyLog = undefined;
      return;
    }
    const path = spec.path ?? TLS_KEYLOG_PATH;
    // One set of counters across stores, so that the metrics never go backwards.
    store ??= new KeyLogStore({ stats: keyStats });
    if (tailer?.path !== path) {
      tailer?.stop();
      tailer = new KeyLogTailer(path, store, options.log ? { log: options.log } : {});
      tailer.start();
    }
    protocolOptions.keyLog = store;
    protocolOptions.keyWaitMs = spec.waitMs ?? DEFAULT_KEY_WAIT_MS;
  }

  setKeyLog(options.keyLog);
  if (options.metrics !== undefined) registerTlsMetrics(options.metrics, protocol.stats, keyStats);
  return {
    protocol,
    get store() {
      return store;
    },
    get tailer() {
      return tailer;
    },
    setKeyLog,
    settle() {
      store?.settleAll();
    },
    stop() {
      tailer?.stop();
      store?.clear();
    },
  };
}
