/**
 * Finds the programs the integration tests run: the control plane (etcd, kube-apiserver,
 * kube-controller-manager), kubectl and helm. A missing one is a PrerequisiteError — the
 * test fails with a message that says how to get it; nothing is ever skipped.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrerequisiteError } from '../../lib/errors.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOOLS_BIN = join(REPO_ROOT, '.tools/bin');
const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/build-controlplane.sh');

export interface ControlPlaneBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  /** Absent when KUBEBUILDER_ASSETS holds only envtest's two binaries. */
  kubeControllerManager: string | undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function fromDir(dir: string): ControlPlaneBinaries | undefined {
  const etcd = join(dir, 'etcd');
  const kubeApiserver = join(dir, 'kube-apiserver');
  if (!isExecutable(etcd) || !isExecutable(kubeApiserver)) return undefined;
  const kcm = join(dir, 'kube-controller-manager');
  return { dir, etcd, kubeApiserver, kubeControllerManager: isExecutable(kcm) ? kcm : undefined };
}

let cached: Promise<ControlPlaneBinaries> | undefined;

/**
 * KUBEBUILDER_ASSETS first (envtest's convention: a directory with etcd and kube-apiserver),
 * else scripts/build-controlplane.sh, which builds once with Go and then answers from its cache.
 */
export function resolveControlPlaneBinaries(): Promise<ControlPlaneBinaries> {
  cached ??= resolveOnce();
  // A failure is not cached: a later test may find the build fixed.
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}

async function resolveOnce(): Promise<ControlPlaneBinaries> {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets) {
    const found = fromDir(assets);
    if (found) return found;
  }
  const { code, stdout, stderr } = await runScript(BUILD_SCRIPT);
  const dir = stdout.trim().split('\n').at(-1) ?? '';
  const found = code === 0 && dir ? fromDir(dir) : undefined;
  if (!found) {
    throw new PrerequisiteError(
      `the control plane binaries are not available: ${
        assets ? `KUBEBUILDER_ASSETS=${assets} lacks etcd/kube-apiserver, and ` : ''
      }scripts/build-controlplane.sh exited ${code}${dir ? ` (printed ${dir})` : ''}. ` +
        'Install Go (>= the version in test/controlplane/go.mod) or point KUBEBUILDER_ASSETS at envtest binaries.' +
        `\n--- build output (tail) ---\n${stderr.trimEnd().split('\n').slice(-20).join('\n')}`,
    );
  }
  return found;
}

function runScript(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('bash', [script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      // Keep only the tail: a cold build can print a lot.
      stderr = (stderr + d).slice(-20_000);
    });
    child.once('error', (err) => done({ code: -1, stdout, stderr: `${stderr}\n${err.message}` }));
    child.once('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/** The project's copy in .tools/bin first, else the first one on PATH. */
function findTool(name: string): string | undefined {
  const local = join(TOOLS_BIN, name);
  if (isExecutable(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function findKubectl(): string {
  const found = findTool('kubectl');
  if (!found) throw new PrerequisiteError('kubectl not found in .tools/bin or on PATH: run `npm run setup`');
  return found;
}

export function findHelm(): string {
  const found = findTool('helm');
  if (!found) throw new PrerequisiteError('helm not found in .tools/bin or on PATH: run `npm run setup`');
  return found;
}
