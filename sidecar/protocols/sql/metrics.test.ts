import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { registerGrpcMetrics } from '../grpc/index.ts';
import type { Transaction } from '../types.ts';
import { registerDbMetrics } from './index.ts';

const tx = (over: Partial<Transaction>): Transaction => ({
  protocol: 'postgres',
  startMs: 1000,
  endMs: 1012,
  requestBytes: 10,
  responseBytes: 20,
  complete: true,
  ...over,
});

test('db metrics: labels are normalized statements, errors by code, statements capped', async () => {
  const registry = new Registry();
  const m = registerDbMetrics(registry, 2);
  m.observe(
    tx({
      db: {
        system: 'postgresql',
        statement: "SELECT * FROM t WHERE a = 'secret'",
        operation: 'SELECT',
        rows: 3,
      },
    }),
  );
  m.observe(
    tx({ db: { system: 'postgresql', statement: 'SELECT * FROM t WHERE a = $1', operation: 'SELECT' } }),
  );
  m.observe(tx({ db: { system: 'mysql', statement: 'SELEC 1', errorCode: '1064' }, protocol: 'mysql' }));
  m.observe(
    tx({ db: { system: 'mysql', statement: 'DELETE FROM x', operation: 'DELETE' }, protocol: 'mysql' }),
  );
  const text = await registry.metrics();
  assert.ok(!text.includes('secret'));
  assert.match(
    text,
    /axom_db_client_operations_total\{system="postgresql",operation="SELECT",statement="SELECT \* FROM t WHERE a = \?",status="ok"\} 1/,
  );
  assert.match(text, /axom_db_client_errors_total\{system="mysql",code="1064"\} 1/);
  assert.match(text, /statement="other"/);
  assert.match(text, /axom_db_client_rows_total\{system="postgresql",operation="SELECT"\} 3/);
});

test('db metrics: series stay capped after the statement cache is full', async () => {
  const registry = new Registry();
  const m = registerDbMetrics(registry, 3);
  // Many raw statements, few shapes: fills the raw-text cache (4 x 3 entries) with 2 labels.
  for (let i = 0; i < 40; i++) {
    const statement = i % 2 ? `SELECT * FROM a WHERE id = ${i}` : `DELETE FROM b WHERE id = ${i}`;
    m.observe(tx({ db: { system: 'postgresql', statement, operation: 'SELECT' } }));
  }
  // Then many new shapes: only one more may become a series, the rest are "other".
  for (let i = 0; i < 20; i++) {
    m.observe(
      tx({ db: { system: 'postgresql', statement: `SELECT c${i} FROM t${i}`, operation: 'SELECT' } }),
    );
  }
  const text = await registry.metrics();
  const statements = new Set(
    [...text.matchAll(/axom_db_client_operations_total\{[^}]*statement="([^"]*)"/g)].map((x) => x[1]),
  );
  assert.equal(statements.size, 4, [...statements].join(' | '));
  assert.ok(statements.has('other'));
});

test('grpc metrics: calls by status, messages by direction, methods capped', async () => {
  const registry = new Registry();
  const m = registerGrpcMetrics(registry, 1);
  const g = (method: string, statusCode: number) =>
    tx({
      protocol: 'grpc',
      grpc: { service: 'pkg.Svc', method, statusCode, requestMessages: 2, responseMessages: 5 },
    });
  m.observe(g('A', 0));
  m.observe(g('A', 14));
  m.observe(g('B', 0));
  m.observe(tx({ protocol: 'http2' }));
  const text = await registry.metrics();
  assert.match(
    text,
    /axom_grpc_client_calls_total\{service="pkg.Svc",method="A",code="14",status="UNAVAILABLE"\} 1/,
  );
  assert.match(text, /axom_grpc_client_calls_total\{service="other",method="other",code="0",status="OK"\} 1/);
  assert.match(
    text,
    /axom_grpc_client_messages_total\{service="pkg.Svc",method="A",direction="received"\} 10/,
  );
});
