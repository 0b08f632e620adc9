import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import type { TransactionSignal } from '../signal/types.ts';
import { createRedactor, REDACTED, redactingStream } from './index.ts';

const OPENAI_KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';
const ANTHROPIC_KEY = 'sk-ant-api03-ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdef-0123';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

function transaction(): TransactionSignal {
  return {
    id: '1',
    kind: 'transaction',
    timestamp: '2026-11-21T00:00:00.000Z',
    protocol: 'http',
    direction: 'outbound',
    source: { ip: '10.0.0.1', port: 40000 },
    destination: { ip: '10.0.0.2', port: 443, host: 'api.openai.com' },
    operation: `GET /v1/models?api_key=${OPENAI_KEY}&limit=5`,
    requestBytes: 10,
    responseBytes: 20,
    complete: true,
    http: {
      method: 'GET',
      path: `/v1/models?api_key=${OPENAI_KEY}&limit=5`,
      requestHeaders: {
        Authorization: `Bearer ${OPENAI_KEY}`,
        'x-api-key': ANTHROPIC_KEY,
        Cookie: 'session=abc123',
        'X-Trace': `token ${JWT}`,
        'x-tenant-secret': 'hunter2',
        accept: 'application/json',
      },
      responseHeaders: { 'Set-Cookie': 'sid=xyz; HttpOnly', 'content-type': 'application/json' },
    },
    alerts: [{ rule: 'r', severity: 'warning', message: `saw key ${ANTHROPIC_KEY}` }],
  };
}

test('credential headers are always redacted, keeping the auth scheme', () => {
  const r = createRedactor({ headers: ['X-Tenant-Secret'] });
  const s = r.signal(transaction());
  assert.deepEqual(s.http?.requestHeaders, {
    Authorization: `Bearer ${REDACTED}`,
    'x-api-key': REDACTED,
    Cookie: REDACTED,
    'X-Trace': `token ${REDACTED}`,
    'x-tenant-secret': REDACTED,
    accept: 'application/json',
  });
  assert.equal(s.http?.responseHeaders?.['Set-Cookie'], REDACTED);
  assert.equal(s.http?.responseHeaders?.['content-type'], 'application/json');
});

test('key-like strings are masked anywhere in the signal; safe fields are untouched', () => {
  const s = createRedactor().signal(transaction());
  const text = JSON.stringify(s);
  assert.ok(!text.includes(OPENAI_KEY), text);
  assert.ok(!text.includes(ANTHROPIC_KEY), text);
  assert.ok(!text.includes(JWT), text);
  assert.equal(s.http?.path, `/v1/models?api_key=${REDACTED}&limit=5`);
  assert.equal(s.operation, `GET /v1/models?api_key=${REDACTED}&limit=5`);
  assert.equal(s.alerts?.[0]?.message, `saw key ${REDACTED}`);
  assert.equal(s.destination.host, 'api.openai.com');
  assert.equal(s.timestamp, '2026-11-21T00:00:00.000Z');
});

test('built-in patterns: AWS keys, bearer tokens, JWTs, GitHub and Google keys', () => {
  const r = createRedactor();
  assert.equal(r.text('id AKIAIOSFODNN7EXAMPLE here'), `id ${REDACTED} here`);
  assert.equal(
    r.text('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
    `aws_secret_access_key = ${REDACTED}`,
  );
  assert.equal(r.text('Authorization: Bearer abc.def-ghi_jkl'), `Authorization: Bearer ${REDACTED}`);
  assert.equal(r.text(`jwt=${JWT};`), `jwt=${REDACTED};`);
  assert.equal(r.text('ghp_0123456789abcdefghijklmnopqrstuvwxyzAB'), REDACTED);
  assert.equal(r.text('AIzaSyA-0123456789abcdefghijklmnopqrstu'), REDACTED);
  assert.equal(r.text('plain text with sk- but short sk-abc'), 'plain text with sk- but short sk-abc');
});

test('configured patterns apply with their replacement, after the built-ins', () => {
  const r = createRedactor({
    patterns: [{ name: 'email', regex: String.raw`[\w.+-]+@[\w-]+\.[\w.]+`, replacement: '<email>' }],
  });
  assert.equal(r.text('mail bob@example.com now'), 'mail <email> now');
});

test('JSON fields are redacted at any depth, case-insensitively, in copies', () => {
  const r = createRedactor({ jsonFields: ['SSN'] });
  const input = { user: { ssn: '123-45-6789', name: 'ann', nested: [{ Password: 'p' }] }, note: OPENAI_KEY };
  const out = r.json(input);
  assert.deepEqual(out, {
    user: { ssn: REDACTED, name: 'ann', nested: [{ Password: REDACTED }] },
    note: REDACTED,
  });
  assert.equal(input.user.ssn, '123-45-6789');
  assert.equal(r.body(Buffer.from(JSON.stringify(input))), JSON.stringify(out));
  assert.equal(r.body(`not json ${OPENAI_KEY}`), `not json ${REDACTED}`);
  assert.equal(r.body(`{"truncated": "${OPENAI_KEY}`), `{"truncated": "${REDACTED}`);
});

test('SQL statements are normalized unless the policy asks for full text', () => {
  const base = transaction();
  const s = {
    ...base,
    protocol: 'postgres' as const,
    http: undefined,
    db: { system: 'postgresql' as const, statement: "select 'x'" },
  };
  assert.equal(createRedactor().signal(structuredClone(s)).db?.statement, 'select ?');
  assert.equal(createRedactor({ sql: 'full' }).signal(structuredClone(s)).db?.statement, "select 'x'");
});

test('redactingStream masks secrets in log lines', () => {
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c.toString()));
  const r = createRedactor();
  const stream = redactingStream(() => r, sink);
  stream.write(`{"msg":"failed with Bearer ${OPENAI_KEY}"}\n`);
  assert.equal(chunks.join(''), `{"msg":"failed with Bearer ${REDACTED}"}\n`);
});

test('property: an embedded key never survives, redaction is idempotent, and odd input never throws', () => {
  const r = createRedactor({
    patterns: [{ name: 'ssn', regex: String.raw`\b\d{3}-\d{2}-\d{4}\b`, replacement: '[SSN]' }],
  });
  const keyChars = fc.constantFrom(
    ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'.split(''),
  );
  const arbKey = fc.oneof(
    fc.array(keyChars, { minLength: 20, maxLength: 60 }).map((c) => `sk-${c.join('')}`),
    fc.array(keyChars, { minLength: 20, maxLength: 60 }).map((c) => `sk-ant-api03-${c.join('')}`),
    fc
      .array(fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.split('')), {
        minLength: 16,
        maxLength: 16,
      })
      .map((c) => `AKIA${c.join('')}`),
  );
  const sep = fc.constantFrom(' ', '\n', '"', "'", ',', ':', '=', '(', '/', '\t');
  fc.assert(
    fc.property(fc.string(), arbKey, fc.string(), sep, sep, (before, key, after, s1, s2) => {
      const text = `${before}${s1}${key}${s2}${after}`;
      const once = r.text(text);
      assert.ok(!once.includes(key), `${JSON.stringify(text)} -> ${JSON.stringify(once)}`);
      assert.equal(r.text(once), once);
      const body = r.body(JSON.stringify({ note: text, nested: [{ password: before }] }));
      assert.ok(!body.includes(key));
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      r.body(Buffer.from(bytes));
      r.headers({
        authorization: Buffer.from(bytes).toString('latin1'),
        other: Buffer.from(bytes).toString('utf8'),
      });
    }),
    { numRuns: 300 },
  );
});
