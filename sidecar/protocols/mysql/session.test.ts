import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { recordingContext } from '../postgres/fixtures.ts';
import { dbView, feedPieces, feedTurns, fuzzBytes, type Turn } from '../testing.ts';
import * as M from './constants.ts';
import { client, MyBytes, server } from './fixtures.ts';
import { detectMysql, MysqlSession } from './index.ts';

function run(steps: Turn[], split?: (b: Buffer) => Buffer[], midstream = false) {
  const rec = recordingContext({ midstream, server: { ip: '127.0.0.1', port: 3306 } });
  const s = new MysqlSession(rec.ctx);
  feedTurns(s, steps, split);
  return { rec, session: s };
}

const BASE =
  M.CLIENT_PROTOCOL_41 |
  M.CLIENT_SECURE_CONNECTION |
  M.CLIENT_PLUGIN_AUTH |
  M.CLIENT_MULTI_STATEMENTS |
  M.CLIENT_MULTI_RESULTS |
  M.CLIENT_TRANSACTIONS;

function conversation(deprecateEof: boolean): Turn[] {
  const caps = BASE | (deprecateEof ? M.CLIENT_DEPRECATE_EOF : 0);
  return [
    ['server', new MyBytes(0).greeting(caps | M.CLIENT_COMPRESS | M.CLIENT_SSL).build()],
    ['client', new MyBytes(1).handshakeResponse(caps).build()],
    ['server', new MyBytes(2).ok().build()],
    ['client', client().query("SELECT id, name FROM users WHERE name = 'bob'").build()],
    [
      'server',
      server()
        .resultSet(
          ['id', 'name'],
          [
            ['1', 'bob'],
            ['2', ''],
          ],
          deprecateEof,
        )
        .build(),
    ],
    ['client', client().query('INSERT INTO users (name) VALUES ("x"), ("y")').build()],
    ['server', server().ok(2).build()],
    ['client', client().query('SELEC 1').build()],
    ['server', server().err(1064, '42000', 'You have an error in your SQL syntax').build()],
    // multi-statement: two result sets then an OK
    ['client', client().query('SELECT 1; SELECT 2, 3; UPDATE t SET a = 1').build()],
    [
      'server',
      server()
        .resultSet(['1'], [['1']], deprecateEof, 2 | M.SERVER_MORE_RESULTS_EXISTS)
        .resultSet(['2', '3'], [['2', '3']], deprecateEof, 2 | M.SERVER_MORE_RESULTS_EXISTS)
        .ok(5)
        .build(),
    ],
    // prepared statement: prepare (1 param, 1 column), execute twice, close
    ['client', client().prepare('SELECT name FROM users WHERE id = ?').build()],
    [
      'server',
      (() => {
        const b = server().prepareOk(7, 1, 1).columnDef('?');
        if (!deprecateEof) b.eof();
        b.columnDef('name');
        if (!deprecateEof) b.eof();
        return b.build();
      })(),
    ],
    ['client', client().execute(7).build()],
    [
      'server',
      server()
        .resultSet(['name'], [['bob']], deprecateEof)
        .build(),
    ],
    ['client', Buffer.concat([client().close(7).build(), client().execute(7).build()])],
    [
      'server',
      server()
        .err(1243, 'HY000', 'Unknown prepared statement handler (7) given to mysqld_stmt_execute')
        .build(),
    ],
    ['client', client().prepare('SELECT nope FROM').build()],
    ['server', server().err(1064, '42000', 'syntax').build()],
    ['client', client().command(M.COM_PING).build()],
    ['server', server().ok().build()],
    ['client', client().command(M.COM_QUIT).build()],
  ];
}

const expected = [
  {
    op: 'SELECT',
    status: 'ok',
    stmt: 'SELECT id, name FROM users WHERE name = ?',
    table: 'users',
    rows: 2,
    err: undefined,
    complete: true,
  },
  {
    op: 'INSERT',
    status: 'ok',
    stmt: 'INSERT INTO users (name) VALUES (?)',
    table: 'users',
    rows: 2,
    err: undefined,
    complete: true,
  },
  {
    op: 'SELEC',
    status: '1064',
    stmt: 'SELEC ?',
    table: undefined,
    rows: undefined,
    err: 'You have an error in your SQL syntax',
    complete: true,
  },
  {
    op: 'SELECT',
    status: 'ok',
    stmt: 'SELECT ?; SELECT ?, ?; UPDATE t SET a = ?',
    table: undefined,
    rows: 2,
    err: undefined,
    complete: true,
  },
  {
    op: 'SELECT',
    status: 'ok',
    stmt: 'SELECT name FROM users WHERE id = ?',
    table: 'users',
    rows: 1,
    err: undefined,
    complete: true,
  },
  {
    op: undefined,
    status: '1243',
    stmt: undefined,
    table: undefined,
    rows: undefined,
    err: 'Unknown prepared statement handler (7) given to mysqld_stmt_execute',
    complete: true,
  },
  {
    op: 'SELECT',
    status: '1064',
    stmt: 'SELECT nope FROM',
    table: undefined,
    rows: undefined,
    err: 'syntax',
    complete: true,
  },
];

for (const deprecateEof of [false, true]) {
  test(`conversation (CLIENT_DEPRECATE_EOF ${deprecateEof})`, () => {
    const { rec, session } = run(conversation(deprecateEof));
    assert.deepEqual(rec.txs.map(dbView), expected);
    assert.deepEqual(rec.errors, []);
    assert.equal(session.serverVersion, '10.11.6-MariaDB');
    assert.equal((session.caps & M.CLIENT_DEPRECATE_EOF) !== 0, deprecateEof);
    assert.equal(rec.txs[0]!.protocol, 'mysql');
    assert.equal(rec.txs[0]!.db?.system, 'mysql');
  });

  test(`every packet split at every offset (CLIENT_DEPRECATE_EOF ${deprecateEof})`, () => {
    const conv = conversation(deprecateEof);
    for (let i = 0; i < conv.length; i++) {
      const target = conv[i]![1];
      for (let k = 1; k < target.length; k++) {
        const { rec } = run(conv, (b) => (b === target ? [b.subarray(0, k), b.subarray(k)] : [b]));
        assert.deepEqual(rec.txs.map(dbView), expected, `step ${i} split at ${k}`);
      }
    }
  });
}

test('TLS switch is detected and reported as not parsed', () => {
  const { rec, session } = run([
    ['server', new MyBytes(0).greeting(BASE | M.CLIENT_SSL).build()],
    ['client', new MyBytes(1).sslRequest(BASE).build()],
    ['client', Buffer.from([0x16, 3, 1, 0, 1, 0])],
  ]);
  assert.equal(session.notParsed, 'tls');
  assert.deepEqual(rec.switched, ['tls']);
  assert.deepEqual(rec.notParsed, ['tls']);
  assert.deepEqual(rec.errors, [], 'a TLS switch is not a parse error');
});

test('compressed protocol is detected and reported as not parsed', () => {
  const { rec, session } = run([
    ['server', new MyBytes(0).greeting(BASE | M.CLIENT_COMPRESS).build()],
    ['client', new MyBytes(1).handshakeResponse(BASE | M.CLIENT_COMPRESS).build()],
    ['server', new MyBytes(2).ok().build()],
    ['client', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9])],
  ]);
  assert.equal(session.notParsed, 'compressed');
  assert.deepEqual(rec.notParsed, ['compressed']);
  assert.deepEqual(rec.errors, []);
  assert.deepEqual(rec.txs, []);
});

test('joined midway: resyncs on the next command', () => {
  const { rec } = run(
    [
      ['server', server().row(['leftover']).eof().build().subarray(2)],
      ['client', client().query('DELETE FROM t WHERE id = 3').build()],
      ['server', server().ok(1).build()],
    ],
    undefined,
    true,
  );
  assert.deepEqual(rec.txs.map(dbView), [
    {
      op: 'DELETE',
      status: 'ok',
      stmt: 'DELETE FROM t WHERE id = ?',
      table: 't',
      rows: 1,
      err: undefined,
      complete: true,
    },
  ]);
});

test('detect', () => {
  assert.equal(detectMysql(new MyBytes(0).greeting(BASE).build(), 'server'), 'match');
  assert.equal(detectMysql(client().query('SELECT 1').build(), 'client'), 'match');
  assert.equal(detectMysql(Buffer.from('GET / HTTP/1.1\r\n'), 'client'), 'no');
  assert.equal(detectMysql(Buffer.from('SSH-2.0-OpenSSH\r\n'), 'server'), 'no');
});

test('fuzz: random bytes and random segmentation never throw and stay bounded', () => {
  const valid = Buffer.concat(conversation(true).map(([, b]) => b));
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      fc.boolean(),
      fc.boolean(),
      (bytes, cuts, midstream, mix) => {
        const rec = recordingContext({ midstream }, 4096);
        const s = new MysqlSession(rec.ctx);
        feedPieces(s, fuzzBytes(valid, bytes, mix), cuts, 2);
        const internals = s as unknown as {
          client: { buffered: number };
          server: { buffered: number };
          pending: unknown[];
        };
        assert.ok(internals.client.buffered <= 64 * 1024 + 4096 + 16);
        assert.ok(internals.server.buffered <= 64 * 1024 + 4096 + 16);
        assert.equal(internals.pending.length, 0);
      },
    ),
    { numRuns: 400 },
  );
});
