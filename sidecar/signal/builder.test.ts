import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ConnectionInfo, Transaction } from '../protocols/types.ts';
import { buildSystemSignal, buildTransactionSignal, hostWithoutPort, validateSignal } from './index.ts';

const conn: ConnectionInfo = {
  id: '10.0.0.5:43122>104.18.0.1:443#1',
  client: { ip: '10.0.0.5', port: 43122 },
  server: { ip: '104.18.0.1', port: 443 },
  direction: 'outbound',
  midstream: false,
};

const tx: Transaction = {
  protocol: 'http',
  startMs: Date.parse('2026-11-21T10:00:00.000Z'),
  endMs: Date.parse('2026-11-21T10:00:01.250Z') + 0.4567,
  requestBytes: 120,
  responseBytes: 3400,
  complete: true,
  status: 200,
  http: { method: 'POST', path: '/v1/chat/completions', host: 'api.openai.com:443', statusCode: 200 },
  request: { body: Buffer.from('{"secret":"never in a signal"}') },
};

/** What leaves the process: the JSON text, parsed back. */
const emitted = (v: unknown): Record<string, unknown> =>
  JSON.parse(JSON.stringify(v)) as Record<string, unknown>;

test('a transaction becomes a signal: id, RFC 3339 start, endpoints, direction, latency, no payloads', () => {
  const s = buildTransactionSignal(tx, conn, { pod: { name: 'agent-0', namespace: 'ai' }, policy: 'p1' });
  assert.match(s.id, /^[0-9a-f-]{36}$/);
  assert.equal(s.kind, 'transaction');
  assert.equal(s.timestamp, '2026-11-21T10:00:00.000Z');
  assert.deepEqual(s.source, { ip: '10.0.0.5', port: 43122 });
  assert.deepEqual(s.destination, { ip: '104.18.0.1', port: 443, host: 'api.openai.com' });
  assert.equal(s.direction, 'outbound');
  assert.equal(s.operation, 'POST /v1/chat/completions');
  assert.equal(s.status, 200);
  assert.equal(s.latencyMs, 1250.457);
  assert.deepEqual(s.pod, { name: 'agent-0', namespace: 'ai' });
  assert.equal(s.policy, 'p1');
  const out = emitted(s);
  assert.ok(!JSON.stringify(out).includes('never in a signal'));
  assert.deepEqual(Object.keys(out).sort(), [
    'complete',
    'destination',
    'direction',
    'http',
    'id',
    'kind',
    'latencyMs',
    'operation',
    'pod',
    'policy',
    'protocol',
    'requestBytes',
    'responseBytes',
    'source',
    'status',
    'timestamp',
  ]);
  const check = validateSignal(out);
  assert.ok(check.valid, check.errors.join('\n'));
  assert.notEqual(buildTransactionSignal(tx, conn).id, s.id);
});

test('fields that do not apply are absent; TLS SNI names the host when there is no Host header', () => {
  const s = buildTransactionSignal(
    {
      protocol: 'postgres',
      startMs: 0,
      endMs: 5,
      requestBytes: 1,
      responseBytes: 2,
      complete: false,
      status: 'ok',
      db: { system: 'postgresql', operation: 'SELECT' },
    },
    { ...conn, direction: 'inbound', tls: { sni: 'db.internal', version: 'TLS 1.3', decrypted: true } },
  );
  const out = emitted(s);
  assert.equal(out.pod, undefined);
  assert.equal(out.http, undefined);
  assert.equal(out.operation, undefined);
  assert.deepEqual(out.destination, { ip: '104.18.0.1', port: 443, host: 'db.internal' });
  assert.deepEqual(out.tls, { sni: 'db.internal', version: 'TLS 1.3', decrypted: true });
  assert.equal(out.direction, 'inbound');
  assert.equal(out.complete, false);
  assert.ok(validateSignal(out).valid);
});

test('host without port: names, IPv4, bracketed and bare IPv6', () => {
  assert.equal(hostWithoutPort('api.openai.com:443'), 'api.openai.com');
  assert.equal(hostWithoutPort('api.openai.com'), 'api.openai.com');
  assert.equal(hostWithoutPort('10.0.0.1:8080'), '10.0.0.1');
  assert.equal(hostWithoutPort('[::1]:8080'), '::1');
  assert.equal(hostWithoutPort('fe80::1'), 'fe80::1');
});

test('the schema rejects what the contract forbids', () => {
  const good = emitted(buildTransactionSignal(tx, conn));
  assert.ok(validateSignal(good).valid);
  for (const bad of [
    { ...good, extra: 1 },
    { ...good, direction: 'sideways' },
    { ...good, timestamp: '2026-11-21 10:00:00' },
    { ...good, outcome: 'meh' },
    { ...good, metrics: { tokens: 'many' } },
    { ...good, source: { ip: '10.0.0.5' } },
  ]) {
    assert.equal(validateSignal(bad).valid, false, JSON.stringify(bad));
  }
  const sys = emitted(
    buildSystemSignal(0, { cpu: { percent: 3, cores: 2 }, gpu: [{ index: 0, utilizationPercent: 5 }] }),
  );
  assert.ok(validateSignal(sys).valid);
  assert.equal(validateSignal({ ...sys, protocol: 'http' }).valid, false);
});

test('property: any well-formed transaction gives a schema-valid signal', () => {
  const arbTx = fc.record({
    protocol: fc.constantFrom('http', 'http2', 'grpc', 'websocket', 'postgres', 'mysql'),
    startMs: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    dur: fc.double({ min: 0, max: 1e6, noNaN: true }),
    requestBytes: fc.nat(),
    responseBytes: fc.nat(),
    complete: fc.boolean(),
    status: fc.option(fc.oneof(fc.integer({ min: 100, max: 599 }), fc.constantFrom('ok', '23505', '1062')), {
      nil: undefined,
    }),
    method: fc.option(fc.constantFrom('GET', 'POST'), { nil: undefined }),
    path: fc.option(fc.string(), { nil: undefined }),
    host: fc.option(fc.string(), { nil: undefined }),
  });
  fc.assert(
    fc.property(arbTx, fc.constantFrom<'outbound' | 'inbound'>('outbound', 'inbound'), (a, direction) => {
      const t: Transaction = {
        protocol: a.protocol,
        startMs: a.startMs,
        endMs: a.startMs + a.dur,
        requestBytes: a.requestBytes,
        responseBytes: a.responseBytes,
        complete: a.complete,
        status: a.status,
        http: a.method === undefined ? undefined : { method: a.method, path: a.path, host: a.host },
      };
      const out = emitted(buildTransactionSignal(t, { ...conn, direction }));
      const check = validateSignal(out);
      assert.ok(check.valid, `${JSON.stringify(out)}\n${check.errors.join('\n')}`);
    }),
    { numRuns: 300 },
  );
});
