/**
 * Prometheus view of the TLS counters, read at scrape time so that the hot path only bumps
 * plain numbers. Key material never reaches a label: labels are outcomes and reasons only.
 */
import type { Registry } from 'prom-client';
import { TLS_METRICS as M } from '../metrics/catalogue.ts';
import { bindReading } from '../metrics/instruments.ts';
import type { KeyLogStats } from './keylog.ts';
import type { TlsStats } from './stats.ts';

export function registerTlsMetrics(registry: Registry, tls: TlsStats, keyLog?: KeyLogStats): void {
  bindReading(registry, M.connections, () =>
    Object.entries(tls.connections).map(([outcome, n]) => [{ outcome }, n] as const),
  );
  bindReading(registry, M.records, () => [
    [{ result: 'ok' }, tls.recordsDecrypted],
    [{ result: 'auth_failed' }, tls.recordsFailed],
  ]);
  bindReading(registry, M.decryptedBytes, () => tls.bytesDecrypted);
  bindReading(registry, M.droppedBytes, () => [
    [{ reason: 'awaiting_keys_buffer_full' }, tls.pendingDroppedBytes],
  ]);
  bindReading(registry, M.keyUpdates, () => tls.keyUpdates);
  bindReading(registry, M.innerProtocolUnknown, () => tls.unknownInnerProtocol);
  if (keyLog === undefined) return;
  bindReading(registry, M.keyLogLines, () =>
    Object.entries(keyLog.lines).map(([result, n]) => [{ result }, n] as const),
  );
  bindReading(registry, M.keyLogEvents, () => [
    [{ event: 'evicted' }, keyLog.evicted],
    [{ event: 'released' }, keyLog.released],
    [{ event: 'reopened' }, keyLog.reopened],
    [{ event: 'read_error' }, keyLog.readErrors],
    [{ event: 'wait_satisfied' }, keyLog.waitsSatisfied],
    [{ event: 'wait_timed_out' }, keyLog.waitsTimedOut],
  ]);
}
