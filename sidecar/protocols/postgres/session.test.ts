import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dbView, feedPieces, feedTurns, fuzzBytes, type Turn } from '../testing.ts';
import { pg, recordingContext } from './fixtures.ts';
import { detectPostgres, PostgresSession, parseCommandTag } from './index.ts';

function run(steps: Turn[], split?: (b: Buffer) => Buffer[], midstream = false) {
  const rec = recordingContext({ midstream });
  const s = new PostgresSession(rec.ctx);
  feedTurns(s, steps, split);
  return { rec, session: s };
}

const conversation: Turn[] = [
  ['client', pg().startup({ user: 'u', database: 'd' }).build()],
  ['server', pg().authOk().parameterStatus('server_version', '15').ready().build()],
  ['client', pg().query("SELECT * FROM users WHERE name = 'bob'").build()],
  [
    'server',
    pg().rowDescription(['id']).dataRow(['1']).dataRow(['2']).commandComplete('SELECT 2').ready().build(),
  ],
  // extended, pipelined: two executes in one Sync, a named statement reused
  [
    'client',
    pg()
      .parse('s1', 'INSERT INTO items (v) VALUES ($1)')
      .bind('', 's1', ['a'])
      .describe('P', '')
      .execute('')
      .bind('', 's1', ['b'])
      .execute('')
      .sync()
      .build(),
  ],
  [
    'server',
    pg()
      .parseComplete()
      .bindComplete()
      .noData()
      .commandComplete('INSERT 0 1')
      .bindComplete()
      .commandComplete('INSERT 0 1')
      .ready()
      .build(),
  ],
  ['client', pg().query('BEGIN').build()],
  ['server', pg().commandComplete('BEGIN').ready('T').build()],
  ['client', pg().parse('', 'SELEC 1').bind('', '').execute('').sync().build()],
  ['server', pg().error('42601', 'syntax error at or near "SELEC"').ready('E').build()],
  ['client', pg().query('COPY items FROM STDIN').build()],
  ['server', pg().copyInResponse().build()],
  ['client', pg().copyData('x\n').copyData('y\n').copyDone().build()],
  ['server', pg().commandComplete('COPY 2').ready('E').build()],
  ['client', pg().query('').build()],
  ['server', pg().emptyQuery().ready('E').build()],
  ['client', pg().query('ROLLBACK').build()],
  ['server', pg().commandComplete('ROLLBACK').ready('I').build()],
  ['client', pg().terminate().build()],
];

const expected = [
  {
    op: 'SELECT',
    status: 'ok',
    stmt: 'SELECT * FROM users WHERE name = ?',
    table: 'users',
    rows: 2,
    err: undefined,
    complete: true,
  },
  {
    op: 'INSERT',
    status: 'ok',
    stmt: 'INSERT INTO items (v) VALUES ($1)',
    table: 'items',
    rows: 1,
    err: undefined,
    complete: true,
  },
  {
    op: 'INSERT',
    status: 'ok',
    stmt: 'INSERT INTO items (v) VALUES ($1)',
    table: 'items',
    rows: 1,
    err: undefined,
    complete: true,
  },
  {
    op: 'BEGIN',
    status: 'ok',
    stmt: 'BEGIN',
    table: undefined,
    rows: undefined,
    err: undefined,
    complete: true,
  },
  {
    op: 'SELEC',
    status: '42601',
    stmt: 'SELEC ?',
    table: undefined,
    rows: undefined,
    err: 'syntax error at or near "SELEC"',
    complete: true,
  },
  {
    op: 'COPY',
    status: 'ok',
    stmt: 'COPY items FROM STDIN',
    table: 'items',
    rows: 2,
    err: undefined,
    complete: true,
  },
  {
    op: undefined,
    status: 'ok',
    stmt: '',
    table: undefined,
    rows: undefined,
    err: undefined,
    complete: true,
  },
  {
    op: 'ROLLBACK',
    status: 'ok',
    stmt: 'ROLLBACK',
    table: undefined,
    rows: undefined,
    err: undefined,
    complete: true,
  },
];

test('a whole conversation: simple, extended (pipelined), errors, COPY, transaction state', () => {
  const { rec, session } = run(conversation);
  assert.deepEqual(rec.txs.map(dbView), expected);
  assert.deepEqual(rec.errors, []);
  assert.equal(session.transactionStatus, 'idle');
  const first = rec.txs[0]!;
  assert.equal(first.protocol, 'postgres');
  assert.equal(first.db?.system, 'postgresql');
  assert.equal(first.startMs, 1020);
  assert.equal(first.endMs, 1030);
  assert.ok(first.requestBytes > 0 && first.responseBytes > 0);
});

test('every message split at every offset gives the same transactions', () => {
  for (let i = 0; i < conversation.length; i++) {
    const len = conversation[i]![1].length;
    for (let k = 1; k < len; k++) {
      const { rec } = run(conversation, (b) =>
        b === conversation[i]![1] ? [b.subarray(0, k), b.subarray(k)] : [b],
      );
      assert.deepEqual(rec.txs.map(dbView), expected, `step ${i} split at ${k}`);
    }
  }
  // and byte by byte, everything
  const { rec } = run(conversation, (b) => [...b].map((x) => Buffer.from([x])));
  assert.deepEqual(rec.txs.map(dbView), expected);
});

test('SSLRequest answered S: reports TLS and stops', () => {
  const { rec, session } = run([
    ['client', pg().sslRequest().build()],
    ['server', pg().byte('S').build()],
    ['client', Buffer.from([0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5])],
  ]);
  assert.equal(session.encrypted, 'tls');
  assert.deepEqual(rec.switched, ['tls']);
  assert.deepEqual(rec.notParsed, ['tls']);
  assert.deepEqual(rec.errors, [], 'a TLS switch is not a parse error');
  assert.deepEqual(rec.txs, []);
});

test('GSSENCRequest answered G: reports GSSAPI encryption as not parsed and stops', () => {
  const { rec, session } = run([
    ['client', pg().gssencRequest().build()],
    ['server', pg().byte('G').build()],
    ['client', Buffer.from([0, 0, 0, 9, 1, 2, 3, 4, 5])],
  ]);
  assert.equal(session.encrypted, 'gss');
  assert.deepEqual(rec.notParsed, ['gssapi']);
  assert.deepEqual(rec.errors, []);
  assert.deepEqual(rec.switched, []);
  assert.deepEqual(rec.txs, []);
});

test('SSLRequest answered N: plaintext startup follows', () => {
  const { rec } = run([
    ['client', pg().sslRequest().build()],
    ['server', pg().byte('N').build()],
    ['client', pg().startup({ user: 'u' }).build()],
    ['server', pg().authOk().ready().build()],
    ['client', pg().query('SELECT 1').build()],
    ['server', pg().rowDescription(['x']).dataRow(['1']).commandComplete('SELECT 1').ready().build()],
  ]);
  assert.deepEqual(
    rec.txs.map((t) => t.operation),
    ['SELECT'],
  );
});

test('joined midway: resyncs on a Query and ReadyForQuery, never pairs wrongly', () => {
  const tail = pg().dataRow(['zzz']).commandComplete('SELECT 9').ready().build();
  const { rec } = run(
    [
      ['client', Buffer.from('garbage from before')],
      ['server', tail.subarray(3)],
      ['client', pg().query('UPDATE t SET a = 1').build()],
      ['server', pg().commandComplete('UPDATE 4').ready().build()],
    ],
    undefined,
    true,
  );
  assert.deepEqual(rec.txs.map(dbView), [
    {
      op: 'UPDATE',
      status: 'ok',
      stmt: 'UPDATE t SET a = ?',
      table: 't',
      rows: 4,
      err: undefined,
      complete: true,
    },
  ]);
});

test('a gap marks what is in flight incomplete', () => {
  const rec = recordingContext();
  const s = new PostgresSession(rec.ctx);
  s.onData('client', pg().startup({ user: 'u' }).build(), 1);
  s.onData('server', pg().authOk().ready().build(), 2);
  s.onData('client', pg().query('SELECT 1').build(), 3);
  s.onGap('server', 100, 4);
  s.onData('server', pg().commandComplete('SELECT 1').ready().build(), 5);
  s.onData('client', pg().query('SELECT 2').build(), 6);
  s.onData('server', pg().commandComplete('SELECT 1').ready().build(), 7);
  assert.deepEqual(
    rec.txs.map((t) => [t.db?.statement, t.complete]),
    [
      ['SELECT ?', false],
      ['SELECT ?', true],
    ],
  );
});

test('command tags', () => {
  assert.deepEqual(parseCommandTag('INSERT 0 5'), { operation: 'INSERT', rows: 5 });
  assert.deepEqual(parseCommandTag('SELECT 12'), { operation: 'SELECT', rows: 12 });
  assert.deepEqual(parseCommandTag('CREATE TABLE'), { operation: 'CREATE TABLE' });
  assert.deepEqual(parseCommandTag('MERGE 3'), { operation: 'MERGE', rows: 3 });
});

test('detect', () => {
  assert.equal(detectPostgres(pg().startup({ user: 'u' }).build(), 'client'), 'match');
  assert.equal(detectPostgres(pg().sslRequest().build(), 'client'), 'match');
  assert.equal(detectPostgres(pg().query('SELECT 1').build(), 'client'), 'match');
  assert.equal(detectPostgres(Buffer.from('GET / HTTP/1.1\r\n'), 'client'), 'no');
  assert.equal(detectPostgres(Buffer.from([0, 0]), 'client'), 'need-more');
});

test('fuzz: random bytes and random segmentation never throw and stay bounded', () => {
  const valid = Buffer.concat(conversation.map(([, b]) => b));
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      fc.boolean(),
      fc.boolean(),
      (bytes, cuts, midstream, mix) => {
        const rec = recordingContext({ midstream }, 4096);
        const s = new PostgresSession(rec.ctx);
        feedPieces(s, fuzzBytes(valid, bytes, mix), cuts, 3);
        // state bounded: buffered bytes never exceed the hunt window plus one message limit
        const internals = s as unknown as { client: { buffered: number }; server: { buffered: number } };
        assert.ok(internals.client.buffered <= 64 * 1024 + 4096 + 16);
        assert.ok(internals.server.buffered <= 64 * 1024 + 4096 + 16);
      },
    ),
    { numRuns: 400 },
  );
});
