import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PrerequisiteError } from '../../lib/errors.ts';
import { defineCommand } from '../command.ts';

/**
 * The demo lives in demo/ and drives the test harness; it is loaded by a computed URL so that
 * `npm run build` (and so the container images) leaves both out. demo/run.ts is type-checked
 * through test/integration/demo.test.ts.
 */
const DEMO_MODULE = new URL('../../demo/run.ts', import.meta.url);

interface DemoModule {
  runDemo(options: { stepTimeoutMs?: number }): Promise<{ ok: boolean }>;
}

export const command = defineCommand({
  name: 'demo',
  summary: 'run the local demo: control plane, operator, injection, live capture of a demo AI agent',
  usage: 'axom-observer demo [options]',
  description: [
    'Starts a local Kubernetes control plane (etcd + kube-apiserver), installs the CRD, runs the operator',
    'and its webhooks, applies demo/policy.yaml, creates the annotated demo/pod.yaml and shows the sidecar',
    'it received and the rendered rules ConfigMap. Then runs the sidecar for real in a network namespace',
    'next to a demo AI agent that calls a local OpenAI-format LLM server (plain and streamed) and',
    'PostgreSQL, and prints the signals and Prometheus metrics that came out. Cleans up after itself.',
    "Needs root and what 'npm run setup' installs; runs from a source checkout. Exits 1 if a part of the",
    'story did not show up (the last line, `demo: summary {...}`, says which).',
  ].join('\n'),
  flags: {
    'step-timeout': {
      type: 'duration',
      description: 'longest wait for any one step',
      default: 60_000,
      env: 'AXOM_DEMO_STEP_TIMEOUT',
    },
  },
  async run(values) {
    if (!existsSync(fileURLToPath(DEMO_MODULE))) {
      throw new PrerequisiteError(
        `the demo runs from a source checkout (${fileURLToPath(DEMO_MODULE)} is missing): git clone, npm run setup, npm run demo`,
      );
    }
    const { runDemo } = (await import(DEMO_MODULE.href)) as DemoModule;
    const summary = await runDemo({ stepTimeoutMs: values['step-timeout'] });
    return summary.ok ? 0 : 1;
  },
});
