/**
 * Prometheus view of the TLS counters, read at scrape time so that the hot path only bumps
 * plain numbers. Key material never reaches a label: labels are outcomes and reasons only.
 */
import { Counter, type Registry } from 'prom-client';
import type { KeyLogStats } from './keylog.ts';
import type { TlsStats } from './stats.ts';

type Sample = [labels: Record<string, string>, value: number];

/** A counter mirroring totals kept elsewhere: each scrape resets it and sets the totals. */
function mirror(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Sample[],
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

export function registerTlsMetrics(registry: Registry, tls: TlsStats, keyLog?: KeyLogStats): void {
  mirror(
    registry,
    'axom_tls_connections_total',
    'TLS connections seen, by what decryption made of them',
    ['outcome'],
    () => Object.entries(tls.connections).map(([outcome, n]) => [{ outcome }, n]),
  );
  mirror(
    registry,
    'axom_tls_records_total',
    'Protected TLS records, by whether they decrypted',
    ['result'],
    () => [
      [{ result: 'ok' }, tls.recordsDecrypted],
      [{ result: 'auth_failed' }, tls.recordsFailed],
    ],
  );
  mirror(registry, 'axom_tls_decrypted_bytes_total', 'Plaintext bytes recovered from TLS', [], () => [
    [{}, tls.bytesDecrypted],
  ]);
  mirror(
    registry,
    'axom_tls_dropped_bytes_total',
    'Bytes the TLS layer had to drop, by reason',
    ['reason'],
    () => [[{ reason: 'awaiting_keys_buffer_full' }, tls.pendingDroppedBytes]],
  );
  mirror(registry, 'axom_tls_key_updates_total', 'TLS 1.3 KeyUpdate messages followed', [], () => [
    [{}, tls.keyUpdates],
  ]);
  mirror(
    registry,
    'axom_tls_inner_protocol_unknown_total',
    'Decrypted streams no parser recognised',
    [],
    () => [[{}, tls.unknownInnerProtocol]],
  );
  if (keyLog === undefined) return;
  mirror(
    registry,
    'axom_tls_keylog_lines_total',
    'Key log lines read, by result (ok, or why a line was unusable)',
    ['result'],
    () => Object.entries(keyLog.lines).map(([result, n]) => [{ result }, n]),
  );
  mirror(
    registry,
    'axom_tls_keylog_events_total',
    'Key log housekeeping: secrets evicted unused or released at connection end, file reopened, waits',
    ['event'],
    () => [
      [{ event: 'evicted' }, keyLog.evicted],
      [{ event: 'released' }, keyLog.released],
      [{ event: 'reopened' }, keyLog.reopened],
      [{ event: 'read_error' }, keyLog.readErrors],
      [{ event: 'wait_satisfied' }, keyLog.waitsSatisfied],
      [{ event: 'wait_timed_out' }, keyLog.waitsTimedOut],
    ],
  );
}
