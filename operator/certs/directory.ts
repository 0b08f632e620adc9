/**
 * cert-manager mode: the serving certificate comes from a Secret mounted as a directory
 * (tls.crt, tls.key, ca.crt). The kubelet updates it by swapping a `..data` symlink, so
 * the directory is watched and also polled (a watch can miss a swap on some filesystems);
 * a new pair is announced only after it loads, otherwise the last good one keeps serving.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { CertificateError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { MutableTlsSource, type TlsMaterial, type TlsSource } from './source.ts';

export interface CertificateDirOptions {
  dir: string;
  log: Logger;
  /** Poll interval as a safety net for missed watch events (10 s). */
  pollMs?: number;
  /** Wait after a change event before reading, so that a swap in progress settles (100 ms). */
  debounceMs?: number;
}

export interface CertificateDirSource extends TlsSource {
  /** Re-reads the directory now; resolves true when the material changed. */
  reload(): Promise<boolean>;
  stop(): void;
}

async function readMaterial(dir: string): Promise<TlsMaterial> {
  const read = (f: string) => readFile(join(dir, f), 'utf8');
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([read('tls.crt'), read('tls.key')]);
  } catch (err) {
    throw new CertificateError(`cannot read tls.crt and tls.key in ${dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const ca = await read('ca.crt').catch(() => undefined);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new CertificateError(`tls.crt and tls.key in ${dir} do not load: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return ca === undefined ? { cert, key } : { cert, key, ca };
}

export async function watchCertificateDir(opts: CertificateDirOptions): Promise<CertificateDirSource> {
  const source = new MutableTlsSource(await readMaterial(opts.dir));
  const log = opts.log;
  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;

  const reload = async (): Promise<boolean> => {
    let m: TlsMaterial;
    try {
      m = await readMaterial(opts.dir);
    } catch (err) {
      log.error({ err, dir: opts.dir }, 'cannot reload the webhook certificate; keeping the current one');
      return false;
    }
    const cur = source.current();
    if (m.cert === cur.cert && m.key === cur.key && m.ca === cur.ca) return false;
    source.set(m);
    log.info({ dir: opts.dir }, 'webhook certificate reloaded from directory');
    return true;
  };

  const later = (): void => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => void reload(), opts.debounceMs ?? 100);
    debounce.unref();
  };

  try {
    watcher = watch(opts.dir, { persistent: false }, later);
    watcher.on('error', (err) =>
      log.warn({ err, dir: opts.dir }, 'certificate directory watch failed; polling only'),
    );
  } catch (err) {
    log.warn({ err, dir: opts.dir }, 'cannot watch the certificate directory; polling only');
  }
  const poll = setInterval(() => void reload(), opts.pollMs ?? 10_000);
  poll.unref();

  return {
    current: () => source.current(),
    onChange: (l) => source.onChange(l),
    reload,
    stop() {
      watcher?.close();
      clearInterval(poll);
      if (debounce) clearTimeout(debounce);
    },
  };
}
