/**
 * The one-command local demo (`npm run demo`, `axom-observer demo`). Two halves:
 *
 *  1. Kubernetes: a real etcd + kube-apiserver (the test harness), the CRD, the operator and
 *     its admission webhooks running on this machine (outside-cluster mode, --webhook-url),
 *     an example ObservationPolicy and an annotated pod: we print the sidecar the pod got and
 *     the rules.yaml the operator rendered.
 *  2. Traffic: that rules.yaml drives a real `axom-observer sidecar` capturing live inside a
 *     network namespace (the "pod"), next to a small AI agent that calls an OpenAI-format
 *     LLM server (plain and streamed) and PostgreSQL in a second namespace; we print the
 *     signals and the Prometheus metrics that came out.
 *
 * Everything it starts is stopped and removed again, also on failure and on Ctrl-C.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { PrerequisiteError } from '../lib/errors.ts';
import {
  ANNOTATION_CONFIG_HASH,
  ANNOTATION_POLICY,
  ANNOTATION_STATUS,
  API_GROUP,
  API_GROUP_VERSION,
  RULES_CONFIGMAP_KEY,
  rulesConfigMapName,
  SIDECAR_CONTAINER_NAME,
  SIDECAR_PORT,
} from '../lib/names.ts';
import { REPO_ROOT } from '../test/harness/binaries.ts';
import {
  type ControlPlane,
  freePort,
  startControlPlane,
  statusMessage,
} from '../test/harness/controlplane.ts';
import { waitFor } from '../test/harness/kube.ts';
import { createNetnsPair, type NetnsEnd, type NetnsPair, waitForLine } from '../test/harness/netns.ts';
import { createTestCA } from '../test/harness/pki.ts';
import { ManagedProcess } from '../test/harness/process.ts';

const NS = 'demo';
const OPERATOR_NS = 'axom-system';
const CLI = join(REPO_ROOT, 'cli/main.ts');
const DEMO_DIR = join(REPO_ROOT, 'demo');
const LLM_PORT = 8080;
const PG_PORT = 5432;
const PG_USER = 'nobody';
const SIDECAR_IMAGE = 'ghcr.io/axom-ai/axom-observer-sidecar:0.1.0';

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects as JSON
type Json = any;

export interface DemoOptions {
  /** Where the demo's narration goes (default: stdout). */
  out?: (text: string) => void;
  /** Longest wait for any one step. */
  stepTimeoutMs?: number;
}

/** What the demo saw; printed as the last line (`demo: summary {...}`) and returned. */
export interface DemoSummary {
  injected: boolean;
  sidecarContainer: boolean;
  configMap: boolean;
  transactions: number;
  llmCalls: number;
  llmInputTokens: number;
  llmOutputTokens: number;
  streamedLlmCalls: number;
  sqlStatements: string[];
  alerts: string[];
  metricsLines: number;
  apiKeyRedacted: boolean;
  ok: boolean;
  missing: string[];
}

/** Cleanups run last-in first-out, each at most once, errors reported but not thrown. */
class Cleanup {
  private readonly steps: Array<{ what: string; fn: () => unknown }> = [];
  add(what: string, fn: () => unknown): void {
    this.steps.push({ what, fn });
  }
  async run(out: (t: string) => void): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        out(`demo: cleanup of ${step.what} failed: ${(err as Error).message}\n`);
      }
    }
  }
}

function indent(text: string, by = '    '): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

/** Debian installs the server binaries under /usr/lib/postgresql/<version>/bin, off PATH. */
function findPostgresBin(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = join(base, v, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  throw new PrerequisiteError(
    'PostgreSQL server binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql: run `npm run setup`',
  );
}

function requireTools(): void {
  if (process.platform !== 'linux')
    throw new PrerequisiteError('the demo needs Linux (network namespaces, libpcap)');
  if (process.getuid?.() !== 0) {
    throw new PrerequisiteError(
      'the demo must run as root: it creates network namespaces and captures packets',
    );
  }
  for (const tool of ['ip', 'curl', 'runuser']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new PrerequisiteError(`${tool} is not installed: run \`npm run setup\``);
    }
  }
}

/** A child whose stdout lines are kept (bounded) and whose stderr tail is kept for errors. */
interface Collected {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

const MAX_LINES = 10_000;
const MAX_STDERR = 64 * 1024;

function collect(child: ChildProcess): Collected {
  const lines: string[] = [];
  let partial = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) if (lines.length < MAX_LINES) lines.push(l);
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-MAX_STDERR);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  return { child, lines, stderr: () => err, exited };
}

async function stopChild(c: Collected, graceMs = 5000): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), graceMs);
  await c.exited;
  clearTimeout(timer);
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const out = options.out ?? ((t: string) => process.stdout.write(t));
  const stepTimeoutMs = options.stepTimeoutMs ?? 60_000;
  const say = (t: string) => out(`${t}\n`);
  const section = (t: string) => out(`\n==> ${t}\n`);
  const cleanup = new Cleanup();
  const summary: DemoSummary = {
    injected: false,
    sidecarContainer: false,
    configMap: false,
    transactions: 0,
    llmCalls: 0,
    llmInputTokens: 0,
    llmOutputTokens: 0,
    streamedLlmCalls: 0,
    sqlStatements: [],
    alerts: [],
    metricsLines: 0,
    apiKeyRedacted: false,
    ok: false,
    missing: [],
  };

  const onSignal = (sig: NodeJS.Signals) => {
    say(`\ndemo: ${sig}: cleaning up`);
    void cleanup.run(out).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Logs worth showing when a step fails, read before cleanup removes them.
  const diagnostics: Array<[string, () => string]> = [];

  try {
    requireTools();
    const pgBin = findPostgresBin();
    const dir = mkdtempSync(join(tmpdir(), 'axom-demo-'));
    cleanup.add('the temp directory', () => rmSync(dir, { recursive: true, force: true }));

    // --- 1. Kubernetes ---------------------------------------------------------------------------
    section('Starting a local Kubernetes control plane (etcd + kube-apiserver)');
    const cp: ControlPlane = await startControlPlane();
    cleanup.add('the control plane', () => cp.stop());
    say(`kube-apiserver ${cp.version} at ${cp.server}`);
    say(`kubeconfig: ${cp.kubeconfigPath}`);
    const must = async (method: string, path: string, body?: unknown, query?: Record<string, string>) => {
      const res = await cp.request(method, path, { body, query });
      if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}: ${statusMessage(res)}`);
      return res.body as Json;
    };

    section('Installing the ObservationPolicy CRD');
    const crds = await cp.installCrds();
    say(`established: ${crds.join(', ')}`);
    // Established comes a moment before the new resource's storage answers lists (until then
    // the API server says 429 "storage is (re)initializing"); start the operator after that.
    await waitFor(
      async () => (await cp.request('GET', `/apis/${API_GROUP_VERSION}/observationpolicies`)).status === 200,
      {
        what: 'the ObservationPolicy storage to answer',
        timeoutMs: stepTimeoutMs,
      },
    );
    for (const ns of [OPERATOR_NS, NS]) await must('POST', '/api/v1/namespaces', { metadata: { name: ns } });

    section('Starting the operator and its admission webhooks (outside-cluster mode)');
    const ca = await createTestCA('axom-demo-webhook-ca');
    const serving = await ca.issue({ commonName: '127.0.0.1', usage: 'server', ipAddresses: ['127.0.0.1'] });
    const certDir = join(dir, 'webhook-certs');
    mkdirSync(certDir);
    writeFileSync(join(certDir, 'tls.crt'), serving.certPem);
    writeFileSync(join(certDir, 'tls.key'), serving.keyPem, { mode: 0o600 });
    writeFileSync(join(certDir, 'ca.crt'), ca.certPem);
    const webhookPort = await freePort();
    const metricsPort = await freePort();
    const operatorArgs = [
      CLI,
      'operator',
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--operator-namespace=${OPERATOR_NS}`,
      '--no-leader-elect',
      `--webhook-url=https://127.0.0.1:${webhookPort}`,
      `--webhook-port=${webhookPort}`,
      '--cert-mode=cert-manager',
      `--cert-dir=${certDir}`,
      `--metrics-address=127.0.0.1:${metricsPort}`,
      `--sidecar-image=${SIDECAR_IMAGE}`,
      '--log-level=info',
    ];
    const operator = new ManagedProcess({
      name: 'operator',
      command: process.execPath,
      args: operatorArgs,
      cwd: REPO_ROOT,
      env: { ...process.env, KUBECONFIG: '' },
      logFile: join(dir, 'operator.log'),
    });
    cleanup.add('the operator', () => operator.stop());
    diagnostics.push(['operator log', () => operator.tail(40)]);
    say(`axom-observer ${operatorArgs.slice(1).join(' ')}`);
    await waitFor(
      async () => {
        if (!operator.running)
          throw new Error(`the operator ${operator.exitDescription}:\n${operator.tail(30)}`);
        return (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok;
      },
      { what: 'the operator to be ready', timeoutMs: stepTimeoutMs, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- operator log (tail) ---\n${operator.tail(30)}`);
    });
    const hooks = await must('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations');
    for (const h of hooks.items ?? []) {
      say(
        `webhook ${h.metadata.name}: ${h.webhooks.map((w: Json) => `${w.name} → ${w.clientConfig.url}`).join(', ')}`,
      );
    }

    section('Applying an ObservationPolicy (demo/policy.yaml)');
    const policy = load(readFileSync(join(DEMO_DIR, 'policy.yaml'), 'utf8')) as Json;
    await must('POST', `/apis/${API_GROUP_VERSION}/namespaces/${NS}/observationpolicies`, policy);
    const ready = await waitFor(
      async () => {
        const p = await must(
          'GET',
          `/apis/${API_GROUP_VERSION}/namespaces/${NS}/observationpolicies/${policy.metadata.name}`,
        );
        return p.status?.conditions?.find((c: Json) => c.type === 'Ready' && c.status === 'True')
          ? p
          : undefined;
      },
      { what: `policy ${policy.metadata.name} to be Ready`, timeoutMs: stepTimeoutMs },
    );
    for (const c of ready.status.conditions) say(`${c.type}=${c.status} (${c.reason}) ${c.message}`);
    say(`rules hash ${ready.status.rulesHash}, ConfigMap ${ready.status.configMapName}`);

    section('Creating an annotated pod (demo/pod.yaml)');
    const podManifest = load(readFileSync(join(DEMO_DIR, 'pod.yaml'), 'utf8')) as Json;
    // The webhook reads policies from its own cache: a server-side dry run shows when it has ours.
    await waitFor(
      async () => {
        const dry = await must('POST', `/api/v1/namespaces/${NS}/pods`, podManifest, { dryRun: 'All' });
        return dry.metadata.annotations?.[ANNOTATION_POLICY] === policy.metadata.name;
      },
      { what: 'the webhook to see the policy', timeoutMs: stepTimeoutMs },
    );
    const pod = await must('POST', `/api/v1/namespaces/${NS}/pods`, podManifest);
    const annotations = Object.entries(pod.metadata.annotations ?? {}).filter(([k]) =>
      k.startsWith(`${API_GROUP}/`),
    );
    say('annotations the webhook stamped:');
    for (const [k, v] of annotations) say(`    ${k}: ${v}`);
    summary.injected = pod.metadata.annotations?.[ANNOTATION_STATUS] === 'injected';
    const containers: Json[] = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    const sidecar = containers.find((c) => c.name === SIDECAR_CONTAINER_NAME);
    summary.sidecarContainer = sidecar !== undefined;
    const where = pod.spec.initContainers?.some((c: Json) => c.name === SIDECAR_CONTAINER_NAME)
      ? 'a native sidecar (init container, restartPolicy Always)'
      : 'a regular container';
    say(`containers: ${containers.map((c) => c.name).join(', ')}; the sidecar runs as ${where}`);
    if (sidecar) say(`the injected sidecar container:\n${indent(dump(sidecar, { lineWidth: 120 }))}`);
    say(`volumes: ${(pod.spec.volumes ?? []).map((v: Json) => v.name).join(', ')}`);
    if (pod.metadata.annotations?.[ANNOTATION_CONFIG_HASH])
      say(`config hash ${pod.metadata.annotations[ANNOTATION_CONFIG_HASH]}`);

    section(`The rendered ConfigMap ${rulesConfigMapName(policy.metadata.name)}`);
    const cm = await must(
      'GET',
      `/api/v1/namespaces/${NS}/configmaps/${rulesConfigMapName(policy.metadata.name)}`,
    );
    const rulesText: string = cm.data[RULES_CONFIGMAP_KEY];
    summary.configMap = typeof rulesText === 'string' && rulesText.length > 0;
    say(indent(rulesText));
    const rulesPath = join(dir, 'rules.yaml');
    writeFileSync(rulesPath, rulesText);

    // --- 2. Traffic -----------------------------------------------------------------------------
    section('Network namespaces: the "pod" (agent + sidecar) and its services (LLM + PostgreSQL)');
    const pair: NetnsPair = await createNetnsPair();
    cleanup.add('the network namespaces', () => pair.destroy());
    const podEnd: NetnsEnd = pair.a;
    const svcEnd: NetnsEnd = pair.b;
    say(`pod      ${podEnd.ns}  ${podEnd.iface}  ${podEnd.ip}`);
    say(`services ${svcEnd.ns}  ${svcEnd.iface}  ${svcEnd.ip}`);

    const llm = collect(
      pair.spawnNode(svcEnd, join(DEMO_DIR, 'llm-server.ts'), [svcEnd.ip, String(LLM_PORT)]),
    );
    cleanup.add('the LLM server', () => stopChild(llm));
    await waitForLine(llm.child, /^listening /, stepTimeoutMs);
    say(`LLM server (OpenAI format) at http://${svcEnd.ip}:${LLM_PORT}/v1`);

    const pgDir = join(dir, 'postgres');
    mkdirSync(join(pgDir, 'sock'), { recursive: true });
    execFileSync('chown', ['-R', `${PG_USER}:`, pgDir]);
    chmodSync(dir, 0o755);
    const pgEnv = { ...process.env, LANG: 'C', LC_ALL: 'C' };
    execFileSync(
      'runuser',
      [
        '-u',
        PG_USER,
        '--',
        join(pgBin, 'initdb'),
        '-D',
        join(pgDir, 'data'),
        '-A',
        'trust',
        '-U',
        'postgres',
        '--no-sync',
      ],
      { env: pgEnv, stdio: 'ignore' },
    );
    // initdb trusts only local connections; the agent connects from the pod namespace.
    appendFileSync(join(pgDir, 'data', 'pg_hba.conf'), `host all all ${podEnd.ip}/32 trust\n`);
    const postgres = collect(
      pair.spawn(
        svcEnd,
        [
          'runuser',
          '-u',
          PG_USER,
          '--',
          join(pgBin, 'postgres'),
          '-D',
          join(pgDir, 'data'),
          '-p',
          String(PG_PORT),
          '-k',
          join(pgDir, 'sock'),
          '-c',
          `listen_addresses=${svcEnd.ip}`,
          '-c',
          'fsync=off',
        ],
        { env: pgEnv },
      ),
    );
    cleanup.add('PostgreSQL', () => stopChild(postgres, 10_000));
    await waitFor(() => /ready to accept connections/.test(postgres.stderr()), {
      what: 'PostgreSQL to accept connections',
      timeoutMs: stepTimeoutMs,
      intervalMs: 200,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${postgres.stderr().slice(-2000)}`);
    });
    say(`PostgreSQL at ${svcEnd.ip}:${PG_PORT}`);

    section('Starting `axom-observer sidecar` in the pod namespace with the rendered rules');
    const sidecarArgs = [
      'sidecar',
      `--rules=${rulesPath}`,
      '--output=ndjson',
      `--pod-name=${podManifest.metadata.name}`,
      `--pod-namespace=${NS}`,
      `--pod-ips=${podEnd.ip}`,
      `--metrics-port=${SIDECAR_PORT}`,
      `--api-key-file=${join(dir, 'no-api-key')}`,
    ];
    say(`axom-observer ${sidecarArgs.join(' ')}`);
    const sidecarProc = collect(pair.spawnNode(podEnd, CLI, sidecarArgs));
    cleanup.add('the sidecar', () => stopChild(sidecarProc, 15_000));
    diagnostics.push(['sidecar stderr', () => sidecarProc.stderr().slice(-4000)]);
    const scrape = async (path: string): Promise<string> => {
      const r = await pair.run(podEnd, ['curl', '-s', '-m', '3', `http://127.0.0.1:${SIDECAR_PORT}${path}`], {
        timeoutMs: 5000,
      });
      return r.code === 0 ? r.stdout : '';
    };
    await waitFor(
      async () => {
        if (sidecarProc.child.exitCode !== null) {
          throw new Error(
            `the sidecar exited (${sidecarProc.child.exitCode}): ${sidecarProc.stderr().slice(-2000)}`,
          );
        }
        return (await scrape('/readyz')).length > 0 && !(await scrape('/readyz')).startsWith('not');
      },
      { what: 'the sidecar to be ready', timeoutMs: stepTimeoutMs, intervalMs: 300 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- sidecar stderr (tail) ---\n${sidecarProc.stderr().slice(-3000)}`);
    });
    say('sidecar ready: capturing');

    section('Running the demo agent (openai client + pg) in the pod namespace');
    const agent = collect(
      pair.spawnNode(podEnd, join(DEMO_DIR, 'agent.ts'), [
        `http://${svcEnd.ip}:${LLM_PORT}/v1`,
        svcEnd.ip,
        String(PG_PORT),
      ]),
    );
    const agentCode = await agent.exited;
    for (const l of agent.lines) say(`agent: ${l}`);
    if (agentCode !== 0) throw new Error(`the agent failed (${agentCode}): ${agent.stderr().slice(-2000)}`);

    const signals = (): Json[] =>
      sidecarProc.lines.flatMap((l) => {
        if (!l.startsWith('{')) return [];
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      });
    const tx = () => signals().filter((s) => s.kind === 'transaction');
    const enough = () => {
      const t = tx();
      const http = t.filter((s) => s.protocol === 'http' && s.http?.path === '/v1/chat/completions');
      const sql = t.filter((s) => s.protocol === 'postgres' && s.db?.operation === 'SELECT');
      return http.length >= 2 && sql.length >= 1;
    };
    await waitFor(enough, {
      what: 'the sidecar to report the calls',
      timeoutMs: 20_000,
      intervalMs: 250,
    }).catch((err: Error) => say(`demo: ${err.message}; showing what came out`));

    section('Prometheus metrics from the sidecar (:2112/metrics, selected)');
    const metrics = await scrape('/metrics');
    const interesting = metrics
      .split('\n')
      // Totals only: histogram buckets would fill the screen.
      .filter((l) => !/_bucket\{/.test(l))
      .filter((l) =>
        /^(gen_ai_client_\w+|axom_llm_\w+|axom_requests_total|axom_rule_\w+|axom_alerts_total)[{ ]/.test(l),
      );
    summary.metricsLines = interesting.length;
    say(
      interesting.length > 0
        ? indent(interesting.join('\n'))
        : '    (none of the selected metrics were exported)',
    );

    await stopChild(sidecarProc, 15_000);
    section('Signals (NDJSON from `--output ndjson`)');
    const all = tx();
    for (const s of all) say(JSON.stringify(s));
    const system = signals().filter((s) => s.kind === 'system');
    if (system[0]) say(JSON.stringify(system[0]));

    summary.transactions = all.length;
    const llmCalls = all.filter((s) => s.llm !== undefined);
    summary.llmCalls = llmCalls.length;
    summary.streamedLlmCalls = llmCalls.filter((s) => s.llm.stream === true).length;
    summary.llmInputTokens = llmCalls.reduce((n, s) => n + (s.llm.inputTokens ?? 0), 0);
    summary.llmOutputTokens = llmCalls.reduce((n, s) => n + (s.llm.outputTokens ?? 0), 0);
    summary.sqlStatements = all
      .filter((s) => s.protocol === 'postgres')
      .map((s) => s.db?.statement ?? s.operation);
    summary.alerts = all.flatMap((s) => (s.alerts ?? []).map((a: Json) => a.rule));
    summary.apiKeyRedacted =
      !sidecarProc.lines.join('\n').includes('sk-demo-0123456789') &&
      !sidecarProc.stderr().includes('sk-demo-0123456789');

    const missing: string[] = [];
    if (!summary.injected || !summary.sidecarContainer) missing.push('sidecar injection');
    if (!summary.configMap) missing.push('rendered ConfigMap');
    if (summary.llmCalls < 2) missing.push('LLM calls with usage in signals');
    if (summary.llmInputTokens <= 0 || summary.llmOutputTokens <= 0) missing.push('LLM token counts');
    if (!summary.sqlStatements.some((s) => /^SELECT/i.test(s))) missing.push('the SQL SELECT transaction');
    if (!summary.apiKeyRedacted) missing.push('API key redaction');
    summary.missing = missing;
    summary.ok = missing.length === 0;

    section('Summary');
    say(
      `sidecar injected: ${summary.injected ? 'yes' : 'no'}; rules ConfigMap rendered: ${summary.configMap ? 'yes' : 'no'}`,
    );
    say(
      `${summary.transactions} transactions; ${summary.llmCalls} LLM calls (${summary.streamedLlmCalls} streamed), ` +
        `${summary.llmInputTokens} input + ${summary.llmOutputTokens} output tokens`,
    );
    say(`SQL: ${summary.sqlStatements.join(' | ') || '(none)'}`);
    say(
      `alerts: ${summary.alerts.join(', ') || '(none)'}; API key redacted: ${summary.apiKeyRedacted ? 'yes' : 'NO'}`,
    );
    if (!summary.ok) say(`not shown: ${missing.join(', ')}`);
    return summary;
  } catch (err) {
    for (const [what, read] of diagnostics) out(`\n--- ${what} (tail) ---\n${read()}\n`);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    section('Cleaning up');
    await cleanup.run(out);
    say('done: every process, namespace and temp file the demo made is gone');
    say(`demo: summary ${JSON.stringify(summary)}`);
  }
}
