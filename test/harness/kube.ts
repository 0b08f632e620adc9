/** Small helpers integration tests need around a control plane. */
import { join } from 'node:path';
import {
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { findKubectl } from './binaries.ts';
import type { ControlPlane } from './controlplane.ts';
import { type CommandResult, runCommand } from './process.ts';

export interface WaitForOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  /** Default 200 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("pod web-1 to be Running"). */
  what: string;
}

/**
 * Polls `fn` until it returns a value other than undefined/false, and resolves with it.
 * Errors thrown by `fn` count as "not yet"; the last one is quoted in the timeout message.
 */
export async function waitFor<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitForOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let last = 'condition was false';
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
      last = 'condition was false';
    } catch (err) {
      last = `last error: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what} (${last})`);
}

/** Server-side apply of one object with client-node (creates or updates it). */
export async function applyManifest<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  object: T,
  fieldManager = 'axom-test',
): Promise<T> {
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  return client.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
}

export type KubectlResult = CommandResult;

/** Runs kubectl against the control plane; resolves whatever the exit code (tests assert on it). */
export function runKubectl(
  cp: Pick<ControlPlane, 'kubeconfigPath' | 'dir'>,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return runCommand(findKubectl(), ['--kubeconfig', cp.kubeconfigPath, ...args], {
    // The discovery cache goes into the control plane's temp dir, so it is removed with it.
    env: { ...process.env, KUBECONFIG: cp.kubeconfigPath, KUBECACHEDIR: join(cp.dir, 'kubectl-cache') },
    timeout: options.timeoutMs ?? 60_000,
    input: options.input,
  });
}

/** `kubectl(cp, 'get', 'ns')`: runs kubectl and returns stdout; throws with stderr on failure. */
export async function kubectl(
  cp: Pick<ControlPlane, 'kubeconfigPath' | 'dir'>,
  ...args: string[]
): Promise<string> {
  const res = await runKubectl(cp, args);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${res.code}: ${res.stderr.trim()}`);
  return res.stdout;
}
