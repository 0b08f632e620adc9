/**
 * Admission webhook throughput and latency: autocannon POSTs the AdmissionReview of a
 * realistic Deployment pod to `/mutate-v1-pod` over HTTPS, then the same body to a trivial
 * fastify HTTPS endpoint (parses the JSON, answers a constant) as the peer. Each server
 * runs in its own child process so that the load generator does not share its event loop.
 *
 *   node bench/admission.ts [--duration 10] [--connections 10]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { silentLogger } from '../lib/log.ts';
import type { PolicySpec } from '../lib/policy/index.ts';
import { generateCa, issueServingCertificate } from '../operator/certs/generate.ts';
import { staticTlsSource } from '../operator/certs/source.ts';
import {
  defaultAdmissionSettings,
  startAdmissionServer,
  staticNamespaceLookup,
  staticPolicyLookup,
} from '../webhook/index.ts';
import { AdmissionReviewBuilder, namespace, PodBuilder, policy } from '../webhook/testing/fixtures.ts';

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    certs: { type: 'string' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
  },
});

/** autocannon ships no types; the part used here. */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const BODY = JSON.stringify(AdmissionReviewBuilder.forPod(PodBuilder.deploymentPod().build()).build());

async function serve(kind: string, certFile: string): Promise<void> {
  const tls = JSON.parse(readFileSync(certFile, 'utf8')) as { cert: string; key: string };
  let url: string;
  if (kind === 'webhook') {
    const server = await startAdmissionServer({
      port: 0,
      host: '127.0.0.1',
      tls: staticTlsSource(tls),
      settings: defaultAdmissionSettings({ serverVersion: { major: 1, minor: 35 } }),
      policies: staticPolicyLookup([
        policy('llm', 'agents', {
          selector: { matchLabels: { app: 'agent' } },
          sidecar: { nativeSidecar: 'auto', tlsKeyLog: true } as PolicySpec['sidecar'],
          export: {
            enabled: true,
            backendUrl: 'https://collector.example.com',
            batchSize: 100,
            flushIntervalSeconds: 5,
          } as PolicySpec['export'],
        }),
      ]),
      namespaces: staticNamespaceLookup([namespace('agents')]),
      registry: new Registry(),
      log: silentLogger,
    });
    url = `${server.url}/mutate-v1-pod`;
  } else {
    const app = Fastify({ https: tls, logger: false });
    app.post('/trivial', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    url = `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/trivial`;
  }
  process.stdout.write(`${url}\n`);
}

async function startChild(kind: string, certFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [import.meta.filename, '--serve', kind, '--certs', certFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    out += d;
  });
  for (let i = 0; i < 200 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
  if (!out.includes('\n')) {
    child.kill();
    throw new Error(`${kind} server did not start`);
  }
  return { child, url: out.trim() };
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
}

async function load(url: string, duration: number, connections: number): Promise<Figures> {
  const r = await autocannon({
    url,
    method: 'POST',
    body: BODY,
    headers: { 'content-type': 'application/json' },
    connections,
    duration,
  });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

async function main(): Promise<void> {
  if (values.serve) return serve(values.serve, values.certs ?? '');
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const ca = await generateCa({ validityMs: 3600_000 });
  const pair = await issueServingCertificate({
    ca,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityMs: 3600_000,
  });
  const certFile = join(tmpdir(), `axom-bench-admission-${process.pid}.json`);
  writeFileSync(certFile, JSON.stringify(pair), { mode: 0o600 });
  const children: ChildProcess[] = [];
  try {
    const results: Record<string, Figures> = {};
    for (const kind of ['webhook', 'baseline'] as const) {
      const { child, url } = await startChild(kind, certFile);
      children.push(child);
      await load(url, 2, connections); // warm-up (JIT, TLS session setup)
      results[kind] = await load(url, duration, connections);
      child.kill();
      await once(child, 'exit');
    }
    const w = results.webhook as Figures;
    const b = results.baseline as Figures;
    const row = (name: string, f: Figures) =>
      `${name.padEnd(34)} ${f.rps.toFixed(0).padStart(8)} req/s   p50 ${String(f.p50).padStart(3)} ms   p99 ${String(f.p99).padStart(3)} ms   (${f.requests} requests, ${f.errors} errors, ${f.non2xx} non-2xx)`;
    process.stdout.write(
      [
        `admission webhook benchmark: ${connections} connections, ${duration} s, body ${BODY.length} bytes, ${cpus().length} CPUs, Node ${process.version}`,
        row('POST /mutate-v1-pod (inject)', w),
        row('trivial fastify HTTPS (baseline)', b),
        `ratio webhook/baseline throughput: ${(w.rps / b.rps).toFixed(2)}`,
        '',
      ].join('\n'),
    );
    if (w.errors + w.non2xx > 0) process.exitCode = 1;
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
    rmSync(certFile, { force: true });
  }
}

await main();
