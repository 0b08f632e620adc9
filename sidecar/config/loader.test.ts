import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PolicyInvalidError, RulesFileError } from '../../lib/errors.ts';
import { type LoadedRules, loadRulesFile, watchRules } from './index.ts';

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
  }
  async update(text: string): Promise<void> {
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
