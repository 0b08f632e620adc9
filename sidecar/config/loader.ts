/**
 * rules.yaml: loaded and validated at startup (a bad file stops startup with a message that
 * names the field) and hot-reloaded when the mounted file changes. Kubernetes updates a
 * ConfigMap volume by writing a new timestamped directory and renaming a `..data_tmp`
 * symlink over `..data`; `rules.yaml` itself is a symlink through `..data` and never
 * changes. So the watcher watches the directory, and on any event re-reads the file
 * through the symlinks and compares contents. A reload that fails (bad YAML, a schema
 * error, rules that do not compile) keeps the last good rules, is logged and is counted.
 * A file missing at startup is not an error: see loadInitialRules.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { RulesFileError } from '../../lib/errors.ts';
import { type Logger, silentLogger } from '../../lib/log.ts';
import { defaultRulesFile, parseRulesFile, rulesHash } from '../../lib/policy/index.ts';
import type { RulesFile } from '../../lib/policy/types.ts';
import { restartNeeded } from './settings.ts';

export interface LoadedRules {
  rules: RulesFile;
  /** SHA-256 prefix of the file's text (the operator stamps the same on the pod). */
  hash: string;
  source: string;
  /** The file does not exist (yet): these are the built-in defaults, waiting for it. */
  missing?: boolean;
}

export const DEFAULTS_SOURCE = '(built-in defaults)';

/** The built-in defaults; `missing` names the rules file they stand in for. */
export function defaultRules(missing?: string): LoadedRules {
  const loaded: LoadedRules = {
    rules: defaultRulesFile(),
    hash: rulesHash('version: 1\n'),
    source: missing === undefined ? DEFAULTS_SOURCE : `${DEFAULTS_SOURCE}; ${missing} missing`,
  };
  if (missing !== undefined) loaded.missing = true;
  return loaded;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Startup. The webhook mounts the rules ConfigMap `optional: true`, so the pod can start
 * before the controller has rendered it: a MISSING file means the built-in defaults (with a
 * warning) until it appears, and the watcher loads it then. A file that exists but does not
 * parse or validate still stops startup, naming the field.
 */
export async function loadInitialRules(path: string, log: Logger = silentLogger): Promise<LoadedRules> {
  try {
    return await loadRulesFile(path);
  } catch (err) {
    if (!(err instanceof RulesFileError) || !isMissing(err.cause)) throw err;
    log.warn(
      { file: path },
      'rules file not found (its ConfigMap may not exist yet): running on the built-in defaults until it appears',
    );
    return defaultRules(path);
  }
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
  /**
   * The rules in force (loaded at startup); reloads compare against its hash, and a reload
   * that changes what applies only at start (capture, enabled protocols) is warned about.
   */
  initial: LoadedRules;
  /** Puts new rules in force; throwing rejects them (the old ones stay). */
  apply(loaded: LoadedRules): void;
  /** Called for each failed reload, after logging; the metrics count these. */
  onError?(err: Error): void;
  log?: Logger;
  /** Quiet period after the last event before re-reading (editors and kubelet write in steps). */
  debounceMs?: number;
  /**
   * Belt and braces for filesystems without inotify: re-read this often anyway (0: never).
   * Default 30 s, or 5 s while the file is missing (its directory may not exist to watch).
   */
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
      if (code === 'ENOENT' && current.missing === true) return; // still waiting for it
      fail(
        new RulesFileError(options.path, code === 'ENOENT' ? 'no such file' : (err as Error).message),
        `read:${code}`,
      );
      return;
    }
    const hash = rulesHash(text);
    if (hash === current.hash) {
      lastFailure = undefined;
      // The file appeared with exactly the defaults' text: nothing to apply, but no longer missing.
      if (current.missing === true) current = { rules: current.rules, hash, source: options.path };
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
    if (current.missing === true) log.info({ file: options.path, hash }, 'rules file appeared; loaded');
    else log.info({ file: options.path, hash, previous: current.hash }, 'rules reloaded');
    if (restartNeeded(options.initial.rules, loaded.rules))
      log.warn(
        { rules: loaded.source },
        'capture settings or enabled protocols changed: they apply when the sidecar restarts',
      );
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
  const pollMs = options.pollIntervalMs ?? (current.missing === true ? 5_000 : 30_000);
  const poll = pollMs > 0 ? setInterval(() => void reload(), pollMs) : undefined;
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
