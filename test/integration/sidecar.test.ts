/**
 * End to end: real HTTP traffic (node:http server and client) inside a network namespace
 * this test creates, captured live by `axom-observer sidecar` on the namespace's interface
 * and recorded by tcpdump at the same time; the recording is then replayed offline with
 * `--pcap-file` (exporting to a real backend on loopback). Both runs must produce the same
 * transactions: every request exactly once, schema-valid, redacted, with rule metrics,
 * outcomes and alerts, latencies consistent with the client's own timing, and Prometheus
 * showing them. The rules file is a ConfigMap volume (..data symlink swap) and a bad
 * update while running keeps the last good rules and is counted.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { PrerequisiteError } from '../../lib/errors.ts';
import { validateSignal } from '../../sidecar/signal/index.ts';
import type { Signal, TransactionSignal } from '../../sidecar/signal/types.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'cli/main.ts');
const TRAFFIC = join(ROOT, 'test/integration/sidecar-traffic.ts');
const NODE = process.execPath;
const KEY = 'sk-proj-e2eSECRETabcdefghijklmnopqrstuvwxyz0123';
const BACKEND_KEY = 'backend-key-7f3a9c';
const POD_IP = '10.123.0.1';
const REMOTE_IP = '10.123.0.2';

function requireTools(): void {
  if (process.getuid?.() !== 0)
    throw new PrerequisiteError('the sidecar end-to-end test needs root (network namespaces, capture)');
  for (const tool of ['ip', 'tcpdump', 'curl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new PrerequisiteError(`${tool} is not installed (apt-get install iproute2 tcpdump curl)`);
    }
  }
}

const RULES = (extra = '') => `version: 1
policy: { name: agent-policy, namespace: ai }
capture:
  interfaces: [lo]
  bpfFilter: not port 2112
redaction:
  headers: [x-tenant-secret]
  jsonFields: [api_key]
system:
  intervalSeconds: 1
  gpu: true
rules:
  - name: chat
    match:
      protocols: [http]
      methods: [POST]
      path: '^/v1/chat/'
    extract:
      - metric: tokens
        type: counter
        jsonPath: $.usage.total_tokens
        labels: { host: destination.host }
      - metric: prompt_tokens
        type: histogram
        jsonPath: $.usage.prompt_tokens
        buckets: [10, 20, 50, 200]
      - metric: remaining_requests
        type: gauge
        source: responseHeaders
        header: x-ratelimit-remaining-requests
    outcome:
      failure:
        bodyRegex: '"error"'
  - name: overload
    match:
      status: [5xx]
    outcome:
      failure:
        status: [5xx]
    alerts:
      - name: upstream_overloaded
        severity: critical
        condition: signal.status == 503
        message: LLM upstream overloaded
${extra}`;

/** A ConfigMap volume as the kubelet writes it, updated by an atomic ..data swap. */
async function configMapVolume(dir: string, text: string): Promise<(text: string) => Promise<void>> {
  let generation = 0;
  const writeTs = async (body: string) => {
    const name = `..2026_11_21_00_00_0${generation}.${1234 + generation}`;
    generation++;
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'rules.yaml'), body);
    return name;
  };
  await symlink(await writeTs(text), join(dir, '..data'));
  await symlink('..data/rules.yaml', join(dir, 'rules.yaml'));
  return async (body: string) => {
    await symlink(await writeTs(body), join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  };
}

interface Proc {
  child: ChildProcess;
  lines: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const lines: string[] = [];
  const stderr: string[] = [];
  let partial = '';
  child.stdout?.on('data', (c: Buffer) => {
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  child.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, stderr, exited };
}

/** The exit code, or a failure if the process is still running after `ms`. */
async function exitWithin(p: Proc, ms: number, what: string): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not exit within ${ms}ms\n${p.stderr.join('')}`)),
      ms,
    );
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function inNs(ns: string, args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', timeout: 20_000 });
}

function scrape(ns: string, path = '/metrics'): string {
  try {
    return inNs(ns, ['curl', '-sf', `http://127.0.0.1:2112${path}`]);
  } catch {
    return '';
  }
}

/** Sum of a Prometheus metric's samples whose labels include `labels`. */
function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) {
      sum += Number(m[3]);
      found = true;
    }
  }
  assert.ok(found, `metric ${name}${JSON.stringify(labels)} missing`);
  return sum;
}

interface ClientSeen {
  method: string;
  path: string;
  status: number;
  startMs: number;
  endMs: number;
  port: number;
  n?: number;
}

function runTraffic(ns: string, count: number, offset: number): ClientSeen[] {
  const out = inNs(ns, [NODE, TRAFFIC, String(count), KEY, String(offset)]);
  return (JSON.parse(out) as { seen: ClientSeen[] }).seen;
}

function parseSignals(lines: string[]): Signal[] {
  return lines.map((l) => {
    const s = JSON.parse(l) as Signal;
    const check = validateSignal(s);
    assert.ok(check.valid, `invalid signal ${l}\n${check.errors.join('\n')}`);
    return s;
  });
}

/** Everything both runs (live and replay) must show about the transactions. */
interface Backend {
  port: number;
  received: Signal[];
  auth: string[];
  close(): void;
}

/** A signal backend: accepts gzip'd JSON batches and records them with their Authorization. */
async function startBackend(host: string): Promise<Backend> {
  const received: Signal[] = [];
  const auth: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers['content-encoding'] !== 'gzip') {
        res.writeHead(400).end('gzip expected');
        return;
      }
      auth.push(req.headers.authorization ?? '');
      received.push(...(JSON.parse(gunzipSync(Buffer.concat(chunks)).toString()) as Signal[]));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    auth,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * `slackMs`: how far capture times may lag the client's clock. Replayed tcpdump files carry
 * kernel timestamps (tight); live capture through `cap` stamps packets when they reach
 * JavaScript, which a busy machine delays by tens of milliseconds.
 */
function checkTransactions(
  all: Signal[],
  seen: ClientSeen[],
  label: string,
  slackMs: number,
): TransactionSignal[] {
  const txs = all.filter((s): s is TransactionSignal => s.kind === 'transaction');
  assert.equal(
    txs.length,
    seen.length,
    `${label}: one signal per request; got ${txs.map((t) => `${t.operation} ${t.status} ${t.metrics?.tokens ?? ''}`).join(', ')}`,
  );
  const text = JSON.stringify(all);
  assert.ok(!text.includes(KEY), `${label}: the API key leaked`);
  assert.ok(!text.includes('tenant-hunter2'), `${label}: a configured header leaked`);

  const chats = txs.filter((t) => t.operation === 'POST /v1/chat/completions');
  const chatSeen = seen.filter((s) => s.path === '/v1/chat/completions');
  assert.equal(chats.length, chatSeen.length);
  const byTokens = new Map<number, TransactionSignal>();
  for (const t of chats) {
    const tokens = t.metrics?.tokens;
    assert.ok(tokens !== undefined, `${label}: chat without tokens ${JSON.stringify(t)}`);
    assert.ok(!byTokens.has(tokens), `${label}: request with ${tokens} tokens seen twice`);
    byTokens.set(tokens, t);
  }
  for (const t of chats) {
    assert.equal(t.protocol, 'http');
    assert.equal(t.direction, 'outbound');
    assert.deepEqual(t.destination, { ip: REMOTE_IP, port: 8080, host: REMOTE_IP });
    assert.equal(t.source.ip, POD_IP);
    assert.equal(t.status, 200);
    assert.equal(t.outcome, 'success');
    assert.equal(t.complete, true);
    assert.equal(t.http?.requestHeaders?.authorization, 'Bearer [REDACTED]');
    assert.equal(t.http?.requestHeaders?.['x-tenant-secret'], '[REDACTED]');
    assert.equal(t.policy, 'agent-policy');
    assert.ok(t.requestBytes > 0 && t.responseBytes > 0);
    const n = (t.metrics?.tokens ?? 0) - 15;
    assert.equal(t.metrics?.prompt_tokens, 10 + n);
    assert.equal(t.metrics?.remaining_requests, 1000 - n);
  }
  // Latency and timestamps agree with what the client measured around each call.
  for (const c of chatSeen) {
    const t = byTokens.get(15 + (c.n ?? -1));
    assert.ok(t, `${label}: no signal for request ${c.n}`);
    const start = Date.parse(t.timestamp);
    assert.ok(
      start >= c.startMs - 2 && start <= c.endMs + slackMs,
      `${label}: timestamp ${t.timestamp} outside [${c.startMs}, ${c.endMs}]`,
    );
    assert.ok(
      (t.latencyMs ?? -1) >= 0 && (t.latencyMs ?? 0) <= c.endMs - c.startMs + slackMs,
      `${label}: latency ${t.latencyMs} vs client ${c.endMs - c.startMs}`,
    );
  }

  const overloaded = txs.find((t) => t.http?.path?.startsWith('/overloaded'));
  assert.ok(overloaded, `${label}: no /overloaded signal`);
  assert.equal(overloaded.status, 503);
  assert.equal(overloaded.outcome, 'failure');
  // The parser keeps the path without its query string; the key in it must not appear anywhere.
  assert.equal(overloaded.http?.path, '/overloaded');
  assert.deepEqual(overloaded.alerts, [
    { rule: 'upstream_overloaded', severity: 'critical', message: 'LLM upstream overloaded' },
  ]);

  const inbound = txs.filter((t) => t.operation === 'PUT /state');
  assert.equal(inbound.length, seen.filter((s) => s.path === '/state').length);
  for (const t of inbound) {
    assert.equal(t.direction, 'inbound');
    assert.deepEqual(t.destination, { ip: POD_IP, port: 9090, host: POD_IP });
    assert.equal(t.status, 204);
    assert.equal(t.outcome, 'success');
  }
  return txs;
}

test('sidecar: live capture in a netns and offline replay of the same traffic agree, export included', async (t) => {
  requireTools();
  const ns = `axom-sc-${process.pid}`;
  const dir = await mkdtemp(join(tmpdir(), 'axom-sidecar-e2e-'));
  const procs: Proc[] = [];
  const backends: Backend[] = [];
  t.after(async () => {
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    for (const b of backends) b.close();
    for (const cmd of [
      ['netns', 'del', ns],
      ['link', 'del', `axv${process.pid}h`],
    ]) {
      try {
        execFileSync('ip', cmd, { stdio: 'ignore' });
      } catch {
        // never created, or gone with the namespace
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  execFileSync('ip', ['netns', 'add', ns]);
  inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
  inNs(ns, ['ip', 'addr', 'add', `${POD_IP}/32`, 'dev', 'lo']);
  inNs(ns, ['ip', 'addr', 'add', `${REMOTE_IP}/32`, 'dev', 'lo']);
  // A veth pair to the test's own namespace, where the live sidecar's backend listens.
  const subnet = `10.124.${process.pid % 250}`;
  const hostIf = `axv${process.pid}h`;
  const nsIf = `axv${process.pid}n`;
  execFileSync('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
  execFileSync('ip', ['link', 'set', nsIf, 'netns', ns]);
  execFileSync('ip', ['addr', 'add', `${subnet}.1/30`, 'dev', hostIf]);
  execFileSync('ip', ['link', 'set', hostIf, 'up']);
  inNs(ns, ['ip', 'addr', 'add', `${subnet}.2/30`, 'dev', nsIf]);
  inNs(ns, ['ip', 'link', 'set', nsIf, 'up']);
  const liveBackend = await startBackend(`${subnet}.1`);
  backends.push(liveBackend);

  const rulesDir = join(dir, 'config');
  await mkdir(rulesDir);
  const updateRules = await configMapVolume(rulesDir, RULES());
  const rulesPath = join(rulesDir, 'rules.yaml');
  const pcap = join(dir, 'flows.pcap');

  // tcpdump records exactly what the sidecar sees (same interface, same filter).
  const tcpdump = start('ip', [
    'netns',
    'exec',
    ns,
    'tcpdump',
    '-i',
    'lo',
    '--immediate-mode',
    '-U',
    '-s',
    '0',
    '-w',
    pcap,
    'tcp and not port 2112',
  ]);
  procs.push(tcpdump);
  await until('tcpdump to listen', () => tcpdump.stderr.join('').includes('listening on'));

  const keyFile = join(dir, 'api-key');
  await writeFile(keyFile, `${BACKEND_KEY}\n`);
  const sidecar = start('ip', [
    'netns',
    'exec',
    ns,
    NODE,
    CLI,
    'sidecar',
    '--rules',
    rulesPath,
    '--output',
    'ndjson',
    '--pod-ips',
    POD_IP,
    '--pod-name',
    'agent-0',
    '--pod-namespace',
    'ai',
    '--metrics-port',
    '2112',
    '--api-key-file',
    keyFile,
    // Nothing is sent before SIGTERM: the batch never fills and the interval never passes.
    '--backend-url',
    `http://${subnet}.1:${liveBackend.port}/v1/signals`,
    '--batch-size',
    '1000',
    '--flush-interval',
    '10m',
  ]);
  procs.push(sidecar);
  await until('the sidecar to be ready', () => scrape(ns, '/readyz').startsWith('ready'));
  assert.equal(scrape(ns, '/healthz'), 'ok\n');

  const seen = runTraffic(ns, 20, 0);
  const liveTx = () => sidecar.lines.filter((l) => l.includes('"kind":"transaction"')).length;
  await until('22 live transaction signals', () => liveTx() >= seen.length);

  // A bad rules update while running: counted, logged, last good rules stay in force.
  await updateRules(RULES().replace('type: histogram', 'type: summary'));
  await until('the reload error to be counted', () => /axom_rules_reload_errors_total 1/.test(scrape(ns)));
  await until('the reload error to be logged', () =>
    /rules\[0\]\.extract\[1\]\.type/.test(sidecar.stderr.join('')),
  );
  const seen2 = runTraffic(ns, 3, 100);
  const allSeen = [...seen, ...seen2];
  await until('the second batch of signals', () => liveTx() >= allSeen.length);
  await until('a system sample', () => sidecar.lines.some((l) => l.includes('"kind":"system"')));

  const metrics = scrape(ns);
  assert.equal(
    metricValue(metrics, 'axom_requests_total', {
      protocol: 'http',
      direction: 'outbound',
      outcome: 'success',
    }),
    23,
  );
  assert.equal(metricValue(metrics, 'axom_requests_total', { outcome: 'failure' }), 2);
  assert.equal(metricValue(metrics, 'axom_requests_total', { direction: 'inbound' }), 2);
  assert.equal(metricValue(metrics, 'axom_request_duration_seconds_count', { protocol: 'http' }), 27);
  const tokenSum = [...Array(20).keys(), 100, 101, 102].reduce((n, i) => n + 15 + i, 0);
  assert.equal(metricValue(metrics, 'axom_rule_tokens', { host: REMOTE_IP }), tokenSum);
  assert.equal(metricValue(metrics, 'axom_rule_prompt_tokens_count'), 23);
  assert.equal(metricValue(metrics, 'axom_rule_remaining_requests'), 1000 - 102);
  assert.equal(
    metricValue(metrics, 'axom_alerts_total', { alert: 'upstream_overloaded', severity: 'critical' }),
    2,
  );
  assert.equal(metricValue(metrics, 'axom_rules_reload_errors_total'), 1);
  assert.ok(metricValue(metrics, 'axom_capture_packets_total') > 50);
  assert.equal(metricValue(metrics, 'axom_tcp_connections_opened_total'), 4);
  assert.equal(metricValue(metrics, 'axom_transactions_total'), 27);
  assert.doesNotMatch(metrics, /^axom_parse_errors_total\{/m, 'no parse errors');
  assert.equal(metricValue(metrics, 'axom_reassembly_gaps_total'), 0);
  assert.ok(metricValue(metrics, 'axom_system_memory_used_bytes') > 0);

  assert.equal(liveBackend.received.length, 0, 'nothing exported before SIGTERM');
  sidecar.child.kill('SIGTERM');
  assert.equal(await exitWithin(sidecar, 15_000, 'the live sidecar'), 0, sidecar.stderr.join(''));
  tcpdump.child.kill('SIGINT');
  await exitWithin(tcpdump, 10_000, 'tcpdump');
  assert.ok(!sidecar.stderr.join('').includes(KEY), 'the key leaked into the logs');

  const live = parseSignals(sidecar.lines);
  const liveTxs = checkTransactions(live, allSeen, 'live', 500);
  for (const s of liveTxs) assert.deepEqual(s.pod, { name: 'agent-0', namespace: 'ai' });
  const system = live.filter((s) => s.kind === 'system');
  assert.ok(system.length >= 1 && system.every((s) => s.memory !== undefined && s.memory.usedBytes > 0));
  // SIGTERM flushed every signal to the backend, with the key from the mounted file.
  assert.deepEqual(liveBackend.received.map((s) => s.id).sort(), live.map((s) => s.id).sort());
  assert.ok(liveBackend.auth.length >= 1 && liveBackend.auth.every((a) => a === `Bearer ${BACKEND_KEY}`));

  // --- the recording, replayed offline, exporting to a real backend ---------------------------
  const replayBackend = await startBackend('127.0.0.1');
  backends.push(replayBackend);
  // The rules file in force at the end is the bad one: replay with the last good rules.
  const goodRules = join(dir, 'good-rules.yaml');
  await writeFile(goodRules, RULES());
  const replay = start(
    NODE,
    [
      CLI,
      'sidecar',
      '--pcap-file',
      pcap,
      '--rules',
      goodRules,
      '--output',
      'ndjson',
      '--pod-ips',
      POD_IP,
      '--metrics-port',
      '0',
      '--backend-url',
      `http://127.0.0.1:${replayBackend.port}/v1/signals`,
      '--batch-size',
      '10',
      '--api-key-file',
      join(dir, 'absent-key-file'),
    ],
    { ...process.env, AXOM_API_KEY: BACKEND_KEY },
  );
  procs.push(replay);
  assert.equal(await exitWithin(replay, 30_000, 'the replay'), 0, replay.stderr.join(''));
  const replayed = parseSignals(replay.lines);
  const replayTxs = checkTransactions(replayed, allSeen, 'replay', 2);
  assert.equal(replayed.filter((s) => s.kind === 'system').length, 0, 'a replay has no system samples');

  // Same transactions, same figures, live and offline.
  const key = (s: TransactionSignal) =>
    `${s.operation} ${s.status} ${s.metrics?.tokens ?? ''} ${s.direction}`;
  assert.deepEqual(replayTxs.map(key).sort(), liveTxs.map(key).sort());

  // The exporter delivered exactly what stdout shows, with the Bearer key from the environment.
  assert.deepEqual(replayBackend.received.map((s) => s.id).sort(), replayed.map((s) => s.id).sort());
  assert.ok(replayBackend.auth.length >= 3 && replayBackend.auth.every((a) => a === `Bearer ${BACKEND_KEY}`));
  assert.ok(!replay.stderr.join('').includes(BACKEND_KEY));
});

test('sidecar: a bad rules file stops startup with a message naming the field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'axom-sidecar-bad-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rules = join(dir, 'rules.yaml');
  await writeFile(rules, RULES().replace('bodyRegex: \'"error"\'', "bodyRegex: '(unclosed'"));
  const p = start(NODE, [
    CLI,
    'sidecar',
    '--rules',
    rules,
    '--pcap-file',
    join(dir, 'none.pcap'),
    '--metrics-port',
    '0',
  ]);
  t.after(() => {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });
  assert.equal(await exitWithin(p, 15_000, 'the sidecar'), 1);
  assert.match(p.stderr.join(''), /rules\[0\]\.outcome\.failure\.bodyRegex/);
  assert.match(p.stderr.join(''), /AXOM_POLICY_INVALID/);
});
