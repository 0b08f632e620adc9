/**
 * rules.yaml: loaded and validated at startup (a bad file stops startup with a message that
 * names the field) and hot-reloaded when the mounted file changes. Kubernetes updates a
 * ConfigMap volume by writing a new timestamped directory and renaming a `..data_tmp`
 * symlink over `..data`; `rules.yaml` itself is a symlink through `..data` and never
 * changes. So the watcher watches the directory, and on any event re-reads the file
 * through the symlinks and compares contents. A reload that fails (bad YAML, a schema
 * error, rules that do not compile) keeps the last good rules, is logged and is counted.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { RulesFileError } from '../../lib/errors.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { parseRulesFile, rulesHash } from '../../lib/policy/index.ts';
import type { RulesFile } from '../../lib/policy/types.ts';

export interface LoadedRules {
  rules: RulesFile;
  /** SHA-256 prefix of the file's text (the operator stamps the same on the pod). */
  hash: string;
  source: string;
}

/** Reads and validates a rules file; throws RulesFileError or PolicyInvalidError naming the field. */
export async function loadRulesFile(path: string): Promise<LoadedRules> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RulesFileError(
      path,
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message,
      {
        cause: err,
      },
    );
  }
  return { rules: parseRulesFile(text, path), hash: rulesHash(text), source: path };
}

export interface RulesWatcherOptions {
  path: string;
  /** The rules in force (loaded at startup); reloads compare against its hash. */
  initial: LoadedRules;
  /** Puts new rules in force; throwing rejects them (the old ones stay). */
  apply(loaded: LoadedRules): void;
  /** Called for each failed reload, after logging; the metrics count these. */
  onError?(err: Error): void;
  log?: Logger;
  /** Quiet period after the last event before re-reading (editors and kubelet write in steps). */
  debounceMs?: number;
  /** Belt and braces for filesystems without inotify: re-read this often anyway (0: never). */
  pollIntervalMs?: number;
}

export interface RulesWatcher {
  /** Re-reads now (tests, SIGHUP); resolves once the reload is done. */
  reload(): Promise<void>;
  readonly current: LoadedRules;
  close(): void;
}

export function watchRules(options: RulesWatcherOptions): RulesWatcher {
  const log = options.log ?? silentLogger;
  const debounceMs = options.debounceMs ?? 100;
  let current = options.initial;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  /** The last rejected content (or read error): seen again, it is not logged or counted twice. */
  let lastFailure: string | undefined;

  async function reloadOnce(): Promise<void> {
    let text: string;
    try {
      text = await readFile(options.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      fail(
        new RulesFileError(options.path, code === 'ENOENT' ? 'no such file' : (err as Error).message),
        `read:${code}`,
      );
      return;
    }
    const hash = rulesHash(text);
    if (hash === current.hash) {
      lastFailure = undefined;
      return;
    }
    if (lastFailure === hash) return;
    let loaded: LoadedRules;
    try {
      loaded = { rules: parseRulesFile(text, options.path), hash, source: options.path };
      options.apply(loaded);
    } catch (err) {
      fail(err as Error, hash);
      return;
    }
    lastFailure = undefined;
    log.info({ file: options.path, hash, previous: current.hash }, 'rules reloaded');
    current = loaded;
  }

  function fail(err: Error, key: string): void {
    if (lastFailure === key) return;
    lastFailure = key;
    log.error(
      { file: options.path, err: err.message, keeping: current.hash },
      'rules reload failed; keeping the last good rules',
    );
    options.onError?.(err);
  }

  async function reload(): Promise<void> {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await reloadOnce();
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void reload();
    }, debounceMs);
  }

  const dir = dirname(options.path);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, () => schedule());
    watcher.on('error', (err) =>
      log.warn({ dir, err: err.message }, 'cannot watch the rules directory; polling only'),
    );
  } catch (err) {
    log.warn({ dir, err: (err as Error).message }, 'cannot watch the rules directory; polling only');
  }
  const poll =
    (options.pollIntervalMs ?? 30_000) > 0
      ? setInterval(() => void reload(), options.pollIntervalMs ?? 30_000)
      : undefined;
  poll?.unref();
  log.debug({ dir, file: basename(options.path) }, 'watching rules');

  return {
    reload,
    get current() {
      return current;
    },
    close() {
      closed = true;
      watcher?.close();
      if (timer !== undefined) clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
    },
  };
}
