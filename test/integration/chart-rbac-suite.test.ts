/**
 * Issue 8: the operator's own integration suites pass under the chart's ClusterRole and Role.
 * controller.test.ts and operator.test.ts run again in a child `node --test` with
 * AXOM_TEST_OPERATOR_IDENTITY=chart, so the controller and the operator replicas authenticate
 * as the chart's ServiceAccount (chart-identity.ts) while the suites' setup and assertions
 * stay admin. Each suite ends by failing on any request the API server refused (401/403 in
 * its request observer, metrics or logs), so a missing rule cannot pass silently.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from '../harness/binaries.ts';
import { OPERATOR_IDENTITY_ENV } from './chart-identity.ts';

const SUITES = ['test/integration/controller.test.ts', 'test/integration/operator.test.ts'];
/** Each suite titles itself with who the code under test ran as. */
const CHART_TITLE = 'as the chart ServiceAccount, under the chart RBAC';
const CHILD_TIMEOUT_MS = 300_000;
const KEEP_OUTPUT = 256 * 1024;
const TAIL = 12_000;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

it('controller.test.ts and operator.test.ts pass as the chart ServiceAccount, with nothing refused', async (t) => {
  // The runner marks the files it starts with NODE_TEST_CONTEXT; a nested `node --test` that
  // inherits it would report to us in the runner's internal format instead of running as usual.
  const env: NodeJS.ProcessEnv = { ...process.env, [OPERATOR_IDENTITY_ENV]: 'chart' };
  delete env.NODE_TEST_CONTEXT;
  // One file at a time: both start a control plane, and the machine is small and shared.
  const child = spawn(
    process.execPath,
    [
      '--test',
      '--test-reporter=spec',
      '--test-concurrency=1',
      `--test-timeout=${CHILD_TIMEOUT_MS}`,
      ...SUITES.map((f) => join(REPO_ROOT, f)),
    ],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  // Its own process group, so that a timeout or an aborted run takes down everything it started.
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  let output = '';
  const keep = (d: Buffer): void => {
    output += d.toString();
    if (output.length > KEEP_OUTPUT) output = output.slice(-KEEP_OUTPUT);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const done = new Promise<ChildResult>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, output })),
  );
  let timedOut = false;
  let escalate: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup('SIGTERM');
    escalate = setTimeout(() => killGroup('SIGKILL'), 10_000);
  }, CHILD_TIMEOUT_MS + 30_000);
  t.after(async () => {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      killGroup('SIGTERM');
      escalate ??= setTimeout(() => killGroup('SIGKILL'), 10_000);
      await done;
    }
    if (escalate) clearTimeout(escalate);
  });

  const res = await done;
  const tail = `\n--- last ${TAIL} characters of the child's output ---\n${res.output.slice(-TAIL)}`;
  assert.ok(!timedOut, `the child run took over ${(CHILD_TIMEOUT_MS + 30_000) / 1000} s${tail}`);
  assert.equal(res.code, 0, `node --test ${SUITES.join(' ')} failed (${res.signal ?? res.code})${tail}`);
  const count = (what: string): number =>
    Number(new RegExp(`^ℹ ${what} (\\d+)$`, 'm').exec(res.output)?.[1] ?? Number.NaN);
  assert.equal(count('fail'), 0, tail);
  assert.equal(count('cancelled'), 0, tail);
  assert.equal(count('skipped'), 0, tail);
  // Both suites ran, under the chart identity, down to their closing refusal check.
  assert.ok(count('tests') >= 15, `expected both suites' tests to run${tail}`);
  const titles = res.output.split('\n').filter((l) => l.startsWith('✔ ') && l.includes(CHART_TITLE));
  assert.equal(titles.length, SUITES.length, `suites under the chart identity:\n${titles.join('\n')}${tail}`);
  const refusalChecks = res.output.match(/✔ was never refused by the API server/g) ?? [];
  assert.equal(refusalChecks.length, SUITES.length, tail);
});
