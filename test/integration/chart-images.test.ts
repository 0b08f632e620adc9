/**
 * The container images, as far as they can be checked without a Docker engine (there is
 * none on the build machines): both Dockerfiles parse into the stages we mean, everything
 * they COPY from the build context exists and is not excluded by .dockerignore, the operator
 * runs as the non-root user the chart expects, the sidecar gets libpcap, and the build's own
 * steps (`npm run build` into dist/, the files copied beside it) produce an entry point that
 * runs `version`, `operator --help` and `sidecar --help` and finds its data files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../harness/binaries.ts';
import { render } from './chart-render.ts';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile syntax we use: comments, `\` continuations, one instruction per logical line. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^([A-Za-z]+)\s+(.*)$/s.exec(l);
    assert.ok(m, `not an instruction: ${l}`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!;
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(f, `bad FROM: ${args}`);
      stages.push({ from: f[1]!, name: f[2], instructions: [] });
    } else {
      assert.ok(stages.length > 0, `${op} before FROM`);
      stages.at(-1)!.instructions.push({ op, args });
    }
  }
  return stages;
}

const read = (rel: string) => readFileSync(join(REPO_ROOT, rel), 'utf8');

function dockerignore(): string[] {
  return read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Whether a top-level path is excluded by a .dockerignore pattern (only the forms we use). */
function ignored(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => p === path || p === `${path}/` || (p.startsWith('**/') && p.slice(3) === path));
}

for (const [file, image] of [
  ['Dockerfile.operator', 'operator'],
  ['Dockerfile.sidecar', 'sidecar'],
] as const) {
  describe(`${file}`, () => {
    const stages = parseDockerfile(read(file));
    const build = stages.find((s) => s.name === 'build');
    const runtime = stages.at(-1)!;
    const all = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);

    it('is two stages on Node 24 slim: build, then a runtime with only what it needs', () => {
      assert.deepEqual(
        stages.map((s) => s.name),
        ['build', 'runtime'],
      );
      for (const s of stages) assert.match(s.from, /^node:24-[a-z]+-slim$|^node:24-slim$/);
      assert.ok(build);
      const runs = all(build, 'RUN').map((i) => i.args);
      assert.ok(
        runs.some((r) => r.includes('npm ci')),
        'npm ci',
      );
      assert.ok(
        runs.some((r) => r.includes('npm run build')),
        'npm run build',
      );
      assert.ok(
        runs.some((r) => r.includes('npm prune --omit=dev')),
        'dev dependencies pruned',
      );
      assert.deepEqual(
        all(runtime, 'ENTRYPOINT').map((i) => JSON.parse(i.args)),
        [['node', '/app/bin/axom-observer.js']],
      );
      assert.deepEqual(
        all(runtime, 'CMD').map((i) => JSON.parse(i.args)),
        [[image]],
      );
      // The runtime stage never compiles anything.
      assert.ok(!all(runtime, 'RUN').some((i) => /npm (ci|install)|g\+\+|make /.test(i.args)));
    });

    it('copies only files that exist and that .dockerignore lets through', () => {
      const patterns = dockerignore();
      const names = new Set(stages.map((s) => s.name));
      for (const stage of stages) {
        for (const copy of all(stage, 'COPY')) {
          const parts = copy.args.split(/\s+/);
          const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
          const srcs = parts.filter((p) => !p.startsWith('--')).slice(0, -1);
          assert.ok(srcs.length > 0, copy.args);
          if (from) {
            assert.ok(names.has(from), `COPY --from=${from} names no stage`);
            continue;
          }
          for (const src of srcs) {
            assert.ok(existsSync(join(REPO_ROOT, src)), `${file}: COPY ${src}: no such file`);
            assert.ok(
              !ignored(src.replace(/\/$/, ''), patterns),
              `${file}: COPY ${src} is excluded by .dockerignore`,
            );
          }
        }
      }
      // Everything the bin script may load at run time is in the runtime image.
      const runtimeCopies = all(runtime, 'COPY').map((i) => i.args);
      for (const dir of ['./bin', './dist', './node_modules', './package.json']) {
        assert.ok(
          runtimeCopies.some((a) => a.endsWith(` ${dir}`)),
          `runtime lacks ${dir}`,
        );
      }
    });

    if (image === 'operator') {
      it('runs as the non-root user the chart sets', async () => {
        const users = all(runtime, 'USER').map((i) => i.args);
        assert.deepEqual(users, ['65532:65532']);
        const docs = await render();
        const pod = docs.find((d) => d.kind === 'Deployment').spec.template.spec;
        assert.equal(pod.securityContext.runAsUser, 65532);
        assert.equal(pod.securityContext.runAsGroup, 65532);
      });
    } else {
      it('installs the libpcap runtime, builds the stats addon, and leaves the user to the pod spec', () => {
        const runtimeRuns = all(runtime, 'RUN').map((i) => i.args);
        assert.ok(
          runtimeRuns.some((r) => /apt-get install .*\blibpcap0\.8\b/.test(r)),
          'libpcap0.8',
        );
        assert.ok(!runtimeRuns.some((r) => /libpcap-dev/.test(r)), 'no headers in the runtime image');
        const buildRuns = all(build!, 'RUN').map((i) => i.args);
        assert.ok(
          buildRuns.some((r) => r.includes('libpcap-dev')),
          'headers to build cap',
        );
        assert.ok(
          buildRuns.some((r) => r.includes('sidecar/capture/native/build.sh')),
          'stats addon built',
        );
        assert.ok(existsSync(join(REPO_ROOT, 'sidecar/capture/native/build.sh')));
        // The webhook runs the sidecar as UID 0 with only NET_RAW; the image does not pick a user.
        assert.deepEqual(all(runtime, 'USER'), []);
      });
    }
  });
}

describe("the images' build steps, run here", () => {
  it('npm run build produces a dist/ whose entry point runs the operator and sidecar commands', (t) => {
    const app = mkdtempSync(join(tmpdir(), 'axom-image-'));
    t.after(() => rmSync(app, { recursive: true, force: true }));
    // What the build stage does: tsc into dist/ (schemas/ is found from the package root).
    const tsc = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        join(app, 'dist'),
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 },
    );
    assert.equal(
      tsc.status,
      0,
      `npm run build would fail:\n${tsc.stdout.slice(-4000)}${tsc.stderr.slice(-2000)}`,
    );
    // What the runtime stage holds.
    mkdirSync(join(app, 'bin'));
    cpSync(join(REPO_ROOT, 'bin/axom-observer.js'), join(app, 'bin/axom-observer.js'));
    cpSync(join(REPO_ROOT, 'package.json'), join(app, 'package.json'));
    cpSync(join(REPO_ROOT, 'schemas'), join(app, 'schemas'), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'));
    assert.ok(existsSync(join(app, 'dist/cli/main.js')), 'dist/cli/main.js');
    assert.ok(!existsSync(join(app, 'dist/demo')), 'the demo (and the test harness) stay out of the images');

    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(app, 'bin/axom-observer.js'), ...args], {
        cwd: app,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, NODE_ENV: 'production' },
      });
    const version = run('version', '--json');
    assert.equal(version.status, 0, version.stderr);
    assert.equal(JSON.parse(version.stdout).version, JSON.parse(read('package.json')).version);
    for (const cmd of ['operator', 'sidecar']) {
      const help = run(cmd, '--help');
      assert.equal(help.status, 0, `${cmd} --help: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`^Usage: axom-observer ${cmd}`));
    }
    // The compiled signal validator finds its schema from the package root, as in the image.
    const check = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(app, 'dist/sidecar/signal/validate.js'))});
         const fs = await import('node:fs');
         fs.accessSync(m.signalSchemaUrl());
         console.log(m.signalSchemaUrl().pathname);`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stdout.trim(), join(app, 'schemas/signal.schema.json'));
  });
});
