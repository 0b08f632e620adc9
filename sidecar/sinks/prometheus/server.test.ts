import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSidecarMetrics, startMetricsServer } from './index.ts';

test('/metrics, /healthz and /readyz (503 with the reason until ready), 404 and 405 otherwise', async (t) => {
  const metrics = createSidecarMetrics();
  let notReady: string | undefined = 'capture not started';
  const server = await startMetricsServer({
    port: 0,
    host: '127.0.0.1',
    registry: metrics.registry,
    notReady: () => notReady,
  });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;

  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(await health.text(), 'ok\n');
  const notYet = await fetch(`${base}/readyz`);
  assert.equal(notYet.status, 503);
  assert.equal(await notYet.text(), 'not ready: capture not started\n');
  notReady = undefined;
  assert.equal((await fetch(`${base}/readyz`)).status, 200);

  metrics.observeTransaction({
    id: 'x',
    kind: 'transaction',
    timestamp: new Date(0).toISOString(),
    protocol: 'http',
    direction: 'outbound',
    source: { ip: '10.0.0.1', port: 1 },
    destination: { ip: '10.0.0.2', port: 80 },
    requestBytes: 1,
    responseBytes: 1,
    complete: false,
    latencyMs: 12,
    outcome: 'failure',
  });
  let exported = 0;
  metrics.bind({ name: 'axom_test_bound_total', help: 'bound', type: 'counter', read: () => exported });
  exported = 7;
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  const text = await res.text();
  assert.match(text, /axom_requests_total\{protocol="http",direction="outbound",outcome="failure"\} 1/);
  assert.match(
    text,
    /axom_request_duration_seconds_bucket\{le="0.025",protocol="http",direction="outbound"\} 1/,
  );
  assert.match(text, /axom_requests_incomplete_total\{protocol="http"\} 1/);
  assert.match(text, /axom_rules_reload_errors_total 0/);
  assert.match(text, /axom_test_bound_total 7/);

  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
});
