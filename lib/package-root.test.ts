import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findPackageRoot, PACKAGE_NAME, packagePath, packageRoot } from './package-root.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

test('the package root is the directory of the package.json named axom-observer', () => {
  assert.equal(packageRoot(), REPO_ROOT);
  assert.equal(packagePath('schemas', 'signal.schema.json'), join(REPO_ROOT, 'schemas/signal.schema.json'));
  assert.equal(findPackageRoot(import.meta.url), REPO_ROOT);
});

test('walks up past other package.json files, from source depth and from dist/ depth alike', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'axom-root-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: PACKAGE_NAME, version: '1.0.0' }));
  // A nested package of another name (and one that does not parse) is not the root.
  mkdirSync(join(dir, 'dist/sidecar/signal'), { recursive: true });
  writeFileSync(join(dir, 'dist/package.json'), JSON.stringify({ name: 'something-else' }));
  writeFileSync(join(dir, 'dist/sidecar/package.json'), '{ not json');
  mkdirSync(join(dir, 'sidecar/signal'), { recursive: true });
  for (const module of ['sidecar/signal/validate.ts', 'dist/sidecar/signal/validate.js']) {
    assert.equal(findPackageRoot(pathToFileURL(join(dir, module))), dir, module);
  }
  assert.equal(findPackageRoot(join(dir, 'dist/sidecar')), dir, 'a directory path');
});

test('no package.json named axom-observer above: undefined', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'axom-noroot-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'other' }));
  assert.equal(findPackageRoot(dir), undefined);
});
