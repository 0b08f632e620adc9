import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const bin = join(import.meta.dirname, '..', 'bin', 'axom-observer.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('axom-observer CLI', () => {
  it('prints help listing every command', () => {
    const r = run('--help');
    assert.equal(r.status, 0);
    for (const c of ['operator', 'sidecar', 'policy', 'version'])
      assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
  });

  for (const c of ['operator', 'sidecar', 'policy', 'version']) {
    it(`${c} --help prints its usage`, () => {
      const r = run(c, '--help');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^Usage: axom-observer /);
    });
  }

  it('exits 2 with one line for an unknown command or a bad flag', () => {
    for (const args of [['frobnicate'], ['version', '--bogus'], ['sidecar', '--metrics-port', 'x']]) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^axom-observer: /);
    }
  });

  it('prints the version', () => {
    const r = run('version', '--json');
    assert.equal(r.status, 0);
    assert.match(JSON.parse(r.stdout).version, /^\d+\.\d+\.\d+/);
  });

  it('validates example policies and refuses a broken one with the field path', () => {
    const examples = join(import.meta.dirname, '..', 'config', 'examples', 'support-agent.yaml');
    assert.equal(run('policy', 'validate', examples).status, 0);
    const bad = spawnSync(process.execPath, [bin, 'policy', 'validate', '-'], {
      encoding: 'utf8',
      input:
        'apiVersion: observer.axom.ai/v1alpha1\nkind: ObservationPolicy\nmetadata: {name: x}\nspec:\n  rules:\n    - name: r\n      match: {path: "["}\n',
    });
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /spec\.rules\[0\]\.match\.path: regex does not compile/);
  });
});
