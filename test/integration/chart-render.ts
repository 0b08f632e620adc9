/**
 * Renders charts/axom-observer with the real helm binary, for the chart tests. Values go
 * through a temp file (JSON is YAML), so a test states them as an object, not as --set strings.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { findHelm, REPO_ROOT } from '../harness/binaries.ts';
import { type CommandResult, runCommand } from '../harness/process.ts';

export const CHART_DIR = join(REPO_ROOT, 'charts/axom-observer');
export const RELEASE = 'axom-observer';
export const NAMESPACE = 'axom-system';

export type HelmResult = CommandResult;

export type Manifest = any;

export function runHelm(args: readonly string[], timeoutMs = 60_000): Promise<HelmResult> {
  const bin = findHelm();
  const home = mkdtempSync(join(tmpdir(), 'axom-helm-'));
  return runCommand(bin, args, {
    cwd: REPO_ROOT,
    // Helm's caches and config go to a throwaway home, removed below.
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
    timeout: timeoutMs,
  }).finally(() => rmSync(home, { recursive: true, force: true }));
}

/** `helm <verb> ... -f values.json`, with the values in a temp file removed afterwards. */
export async function withValues(
  verbArgs: readonly string[],
  values: Record<string, unknown> | undefined,
): Promise<HelmResult> {
  if (!values) return runHelm(verbArgs);
  const dir = mkdtempSync(join(tmpdir(), 'axom-values-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    return await runHelm([...verbArgs, '-f', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** `--api-versions` so optional kinds (ServiceMonitor, Certificate) can be told apart. */
  apiVersions?: readonly string[];
  includeCrds?: boolean;
}

export async function helmTemplate(
  values?: Record<string, unknown>,
  options: RenderOptions = {},
): Promise<HelmResult & { docs: Manifest[] }> {
  const args = [
    'template',
    options.release ?? RELEASE,
    CHART_DIR,
    '--namespace',
    options.namespace ?? NAMESPACE,
  ];
  if (options.includeCrds) args.push('--include-crds');
  for (const v of options.apiVersions ?? []) args.push('--api-versions', v);
  const res = await withValues(args, values);
  const docs =
    res.code === 0 ? (loadAll(res.stdout) as Manifest[]).filter((d) => d && typeof d === 'object') : [];
  return { ...res, docs };
}

/** Renders and throws with helm's message when it fails. */
export async function render(
  values?: Record<string, unknown>,
  options: RenderOptions = {},
): Promise<Manifest[]> {
  const res = await helmTemplate(values, options);
  if (res.code !== 0) throw new Error(`helm template failed (${res.code}): ${res.stderr.trim()}`);
  return res.docs;
}

export function find(docs: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = docs.find((d) => d.kind === kind && (name === undefined || d.metadata?.name === name));
  if (!found) {
    const have = docs.map((d) => `${d.kind}/${d.metadata?.name}`).join(', ');
    throw new Error(`no ${kind}${name ? `/${name}` : ''} rendered; have ${have}`);
  }
  return found;
}

export function kinds(docs: readonly Manifest[]): string[] {
  return docs.map((d) => d.kind as string).sort();
}
