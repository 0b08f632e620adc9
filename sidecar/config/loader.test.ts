import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PolicyInvalidError, RulesFileError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/log.ts';
import { type LoadedRules, loadInitialRules, loadRulesFile, watchRules } from './index.ts';

const GOOD = (metric: string) => `version: 1
rules:
  - name: r1
    extract:
      - metric: ${metric}
`;
const BAD_FIELD = `version: 1
rules:
  - name: r1
    extract:
      - metric: tokens
        type: summary
`;

/**
 * A ConfigMap volume exactly as the kubelet lays it out:
 *   ..2026_11_21_00_00_00.1234/rules.yaml
 *   ..data -> ..2026_11_21_00_00_00.1234
 *   rules.yaml -> ..data/rules.yaml
 * and updated by writing a new timestamped directory, pointing `..data_tmp` at it and
 * renaming `..data_tmp` over `..data` (one atomic rename).
 */
class ConfigMapVolume {
  readonly dir: string;
  /** True once ..data exists (init or the first update of an optional, empty volume). */
  #populated = false;
  #generation = 0;
  constructor(dir: string) {
    this.dir = dir;
  }
  get path(): string {
    return join(this.dir, 'rules.yaml');
  }
  async init(text: string): Promise<void> {
    const ts = await this.#writeTimestamped(text);
    await symlink(ts, join(this.dir, '..data'));
    await symlink(join('..data', 'rules.yaml'), this.path);
    this.#populated = true;
  }
  async update(text: string): Promise<void> {
    // An optional volume whose ConfigMap did not exist is an empty directory: the first
    // update is the kubelet populating it.
    if (!this.#populated) return this.init(text);
    const ts = await this.#writeTimestamped(text);
    await symlink(ts, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
  }
  async #writeTimestamped(text: string): Promise<string> {
    const name = `..2026_11_21_00_00_0${this.#generation}.${1234 + this.#generation}`;
    this.#generation++;
    await mkdir(join(this.dir, name));
    await writeFile(join(this.dir, name, 'rules.yaml'), text);
    return name;
  }
}

async function volume(
  t: { after: (fn: () => Promise<void>) => void },
  text: string,
): Promise<ConfigMapVolume> {
  const dir = await mkdtemp(join(tmpdir(), 'axom-rules-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const v = new ConfigMapVolume(dir);
  await v.init(text);
  return v;
}

/** Resolves when `predicate` holds, checking after each event the watcher reports. */
function waitFor(predicate: () => boolean, hooks: { notify: (() => void)[] }): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (predicate()) resolve();
      else hooks.notify.push(check);
    };
    check();
  });
}

test('a bad rules file at startup is an error that names the field', async (t) => {
  const v = await volume(t, BAD_FIELD);
  await assert.rejects(loadRulesFile(v.path), (err: unknown) => {
    assert.ok(err instanceof PolicyInvalidError);
    assert.match(err.message, /rules\[0\]\.extract\[0\]\.type/);
    return true;
  });
  await assert.rejects(loadRulesFile(join(v.dir, 'missing.yaml')), RulesFileError);
  await assert.rejects(
    loadRulesFile(
      await (async () => {
        await writeFile(join(v.dir, 'notyaml.yaml'), 'version: [1\n');
        return join(v.dir, 'notyaml.yaml');
      })(),
    ),
    RulesFileError,
  );
});

test('the ConfigMap ..data symlink swap is picked up; a bad update keeps the last good rules and is counted', async (t) => {
  const v = await volume(t, GOOD('first'));
  const initial = await loadRulesFile(v.path);
  const applied: LoadedRules[] = [];
  const errors: Error[] = [];
  const hooks = { notify: [] as (() => void)[] };
  const ping = () => {
    const waiting = hooks.notify;
    hooks.notify = [];
    for (const w of waiting) w();
  };
  const watcher = watchRules({
    path: v.path,
    initial,
    apply: (l) => {
      if (l.rules.rules[0]?.extract?.[0]?.metric === 'explode') throw new Error('rules do not compile');
      applied.push(l);
      ping();
    },
    onError: (e) => {
      errors.push(e);
      ping();
    },
    debounceMs: 20,
    pollIntervalMs: 0,
  });
  t.after(() => watcher.close());

  await v.update(GOOD('second'));
  await waitFor(() => applied.length === 1, hooks);
  assert.equal(applied[0]?.rules.rules[0]?.extract?.[0]?.metric, 'second');
  assert.equal(watcher.current.hash, applied[0]?.hash);

  await v.update(BAD_FIELD);
  await waitFor(() => errors.length === 1, hooks);
  assert.match(errors[0]?.message ?? '', /rules\[0\]\.extract\[0\]\.type/);
  assert.equal(watcher.current.rules.rules[0]?.extract?.[0]?.metric, 'second', 'last good rules stay');

  // The same bad content seen again (a poll, a spurious event) is not counted twice.
  await watcher.reload();
  assert.equal(errors.length, 1);

  await v.update(GOOD('explode'));
  await waitFor(() => errors.length === 2, hooks);
  assert.match(errors[1]?.message ?? '', /do not compile/);

  await v.update(GOOD('third'));
  await waitFor(() => applied.length === 2, hooks);
  assert.equal(watcher.current.rules.rules[0]?.extract?.[0]?.metric, 'third');
  assert.equal(applied.length, 2);
});

test('an unchanged file is not re-applied', async (t) => {
  const v = await volume(t, GOOD('same'));
  const initial = await loadRulesFile(v.path);
  let applied = 0;
  const watcher = watchRules({ path: v.path, initial, apply: () => void applied++, pollIntervalMs: 0 });
  t.after(() => watcher.close());
  await v.update(GOOD('same'));
  await watcher.reload();
  assert.equal(applied, 0);
});

/** A logger whose JSON lines land in `lines`. */
function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const log = createLogger({
    level: 'debug',
    destination: {
      write(s: string) {
        out.push(s);
        return true;
      },
    } as unknown as NodeJS.WritableStream,
  });
  return {
    log,
    lines: () => out.flatMap((s) => s.split('\n').filter(Boolean)).map((l) => JSON.parse(l)),
  };
}

test('a missing rules file at startup means the built-in defaults with a warning, then the file once it appears', async (t) => {
  // The optional ConfigMap volume before the controller rendered it: an empty directory.
  const dir = await mkdtemp(join(tmpdir(), 'axom-rules-missing-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const v = new ConfigMapVolume(dir);
  const { log, lines } = capturingLogger();

  const initial = await loadInitialRules(v.path, log);
  assert.equal(initial.missing, true);
  assert.deepEqual(initial.rules.rules, []);
  assert.equal(initial.rules.llm.enabled, true, 'defaults: LLM metering on');
  const warning = lines().find((l) => l.level === 'warn');
  assert.ok(warning, 'a warning is logged');
  assert.match(String(warning.msg), /built-in defaults/);
  assert.equal(warning.file, v.path);

  const applied: LoadedRules[] = [];
  const errors: Error[] = [];
  const hooks = { notify: [] as (() => void)[] };
  const ping = () => {
    const waiting = hooks.notify;
    hooks.notify = [];
    for (const w of waiting) w();
  };
  const watcher = watchRules({
    path: v.path,
    initial,
    apply: (l) => {
      applied.push(l);
      ping();
    },
    onError: (e) => {
      errors.push(e);
      ping();
    },
    log,
    debounceMs: 20,
    pollIntervalMs: 0,
  });
  t.after(() => watcher.close());

  // Still missing: waiting for it is not a failed reload.
  await watcher.reload();
  assert.equal(errors.length, 0);
  assert.equal(watcher.current.missing, true);

  // The kubelet populates the volume (..data symlink and rules.yaml through it).
  await v.update(GOOD('appeared'));
  await waitFor(() => applied.length === 1, hooks);
  assert.equal(applied[0]?.rules.rules[0]?.extract?.[0]?.metric, 'appeared');
  assert.equal(applied[0]?.missing, undefined);
  assert.equal(watcher.current.source, v.path);
  assert.equal(errors.length, 0);

  // From now on the file is the rules: a bad update is an error and keeps them.
  await v.update(BAD_FIELD);
  await waitFor(() => errors.length === 1, hooks);
  assert.equal(watcher.current.rules.rules[0]?.extract?.[0]?.metric, 'appeared');
});

test('a rules file that exists but is invalid still stops startup, naming the field', async (t) => {
  const v = await volume(t, BAD_FIELD);
  await assert.rejects(loadInitialRules(v.path), (err: unknown) => {
    assert.ok(err instanceof PolicyInvalidError);
    assert.match(err.message, /rules\[0\]\.extract\[0\]\.type/);
    return true;
  });
  // Unreadable for another reason than absence (a directory): an error too, not the defaults.
  await assert.rejects(loadInitialRules(v.dir), RulesFileError);
});
