/**
 * PostgreSQL against a real server: initdb + postgres (as `nobody`, in a temp dir, on a
 * free loopback port), driven by `pg` (simple and extended protocol, named statements,
 * errors, transactions, TLS) and `psql` (COPY FROM STDIN). tcpdump records the traffic;
 * the recording is replayed through the pipeline and every transaction is compared with
 * what the client did, in order.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { createPostgresProtocol } from '../../sidecar/protocols/postgres/index.ts';
import { opensslSelfSignedCert } from '../harness/pki.ts';
import { ManagedProcess } from '../harness/process.ts';
import {
  type DbExpect,
  dbView,
  freePort,
  replayCapture,
  requireCommands,
  startWireCapture,
  waitForPort,
} from '../harness/wirecapture.ts';

const USER = 'nobody';

test('postgres: pg and psql against a real server, captured and replayed', {
  timeout: 120_000,
}, async (t) => {
  requireCommands(
    ['initdb', 'postgres', 'psql', 'runuser', 'openssl'],
    'PostgreSQL server binaries at /usr/local/bin or Debian postgresql',
  );
  const dir = await mkdtemp(join(tmpdir(), 'axom-pg-'));
  t.after(() => (process.env.AXOM_KEEP_TMP ? undefined : rm(dir, { recursive: true, force: true })));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  // A self-signed certificate so that an SSLRequest is answered 'S'.
  opensslSelfSignedCert(dir, { keyType: 'rsa' });
  chmodSync(join(dir, 'key.pem'), 0o600);
  execFileSync('chown', ['-R', `${USER}:`, dir]);
  chmodSync(dir, 0o755);
  const env = { ...process.env, LANG: 'C', LC_ALL: 'C' };
  const init = spawnSync(
    'runuser',
    ['-u', USER, '--', 'initdb', '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'],
    { env, encoding: 'utf8' },
  );
  assert.equal(init.status, 0, `initdb failed: ${init.stderr}`);

  const port = await freePort();
  const server = new ManagedProcess({
    name: 'postgres',
    command: 'runuser',
    args: [
      '-u',
      USER,
      '--',
      'postgres',
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      sock,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${join(dir, 'cert.pem')}`,
      '-c',
      `ssl_key_file=${join(dir, 'key.pem')}`,
    ],
    logFile: join(dir, 'postgres.log'),
    env,
  });
  t.after(() => server.stop());
  await waitForPort(port, 30_000, 'postgres', server);

  const capture = await startWireCapture(dir, 'pg', port);
  t.after(() => capture.stop());

  const expected: DbExpect[] = [];
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await client.connect();
  const clientPort = (client as unknown as { connection: { stream: { localPort: number } } }).connection
    .stream.localPort;
  try {
    await client.query('CREATE TABLE items (id serial PRIMARY KEY, v text)');
    expected.push({
      operation: 'CREATE TABLE',
      status: 'ok',
      statement: 'CREATE TABLE items (id serial PRIMARY KEY, v text)',
      table: 'items',
    });
    const ins = await client.query("INSERT INTO items (v) VALUES ('a'), ('b'), ('c')");
    expected.push({
      operation: 'INSERT',
      status: 'ok',
      statement: 'INSERT INTO items (v) VALUES (?)',
      table: 'items',
      rows: ins.rowCount ?? -1,
    });
    const sel = await client.query("SELECT v FROM items WHERE v <> 'secret-value' ORDER BY id");
    expected.push({
      operation: 'SELECT',
      status: 'ok',
      statement: 'SELECT v FROM items WHERE v <> ? ORDER BY id',
      table: 'items',
      rows: sel.rowCount ?? -1,
    });
    // extended protocol, unnamed statement
    const ext = await client.query('SELECT $1::int + 1 AS y', [41]);
    assert.equal(ext.rows[0].y, 42);
    expected.push({ operation: 'SELECT', status: 'ok', statement: 'SELECT $1::int + ? AS y', rows: 1 });
    // named statement: parsed once, executed twice
    for (const [v, id] of [
      ['x', 1],
      ['y', 2],
    ] as const) {
      const r = await client.query({
        name: 'upd',
        text: 'UPDATE items SET v = $1 WHERE id = $2',
        values: [v, id],
      });
      expected.push({
        operation: 'UPDATE',
        status: 'ok',
        statement: 'UPDATE items SET v = $1 WHERE id = $2',
        table: 'items',
        rows: r.rowCount ?? -1,
      });
    }
    // errors: simple (relation missing) and extended (bad parameter at Bind)
    for (const [text, values] of [
      ['SELECT * FROM missing_table', undefined],
      ['SELECT $1::int AS z', ['not-an-int']],
    ] as const) {
      const err = await client.query(text, values as unknown[] | undefined).then(
        () => assert.fail('expected an error'),
        (e: { code: string; message: string }) => e,
      );
      expected.push({
        operation: 'SELECT',
        status: err.code,
        statement: text,
        ...(text.includes('missing') ? { table: 'missing_table' } : {}),
        errorMessage: err.message,
      });
    }
    // a transaction block
    for (const q of ['BEGIN', 'DELETE FROM items WHERE id = 3', 'COMMIT']) {
      const r = await client.query(q);
      const op = q.split(' ')[0]!;
      expected.push({
        operation: op,
        status: 'ok',
        statement: q.replace('3', '?'),
        ...(op === 'DELETE' ? { table: 'items', rows: r.rowCount ?? -1 } : {}),
      });
    }
    // two statements in one simple Query
    await client.query('SELECT 1; SELECT 2');
    expected.push({ operation: 'SELECT', status: 'ok', statement: 'SELECT ?; SELECT ?', rows: 2 });
  } finally {
    await client.end();
  }

  // psql: COPY FROM STDIN, then a count; TLS off so that its bytes are readable.
  const psqlEnv = { ...env, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' };
  const psql = (args: string[], input?: string) =>
    spawnSync(
      'psql',
      ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-X', ...args],
      { env: psqlEnv, encoding: 'utf8', timeout: 20_000, ...(input === undefined ? {} : { input }) },
    );
  const copy = psql(['-v', 'ON_ERROR_STOP=1', '-c', '\\copy items(v) from stdin'], 'd\ne\nf\n');
  assert.equal(copy.status, 0, copy.stderr);
  const count = psql(['-At', '-c', 'SELECT count(*) FROM items']);
  assert.equal(count.stdout.trim(), '5');
  const psqlExpected: DbExpect[] = [
    // psql rewrites \copy into COPY ... FROM STDIN (whitespace normalized by the parser).
    { operation: 'COPY', status: 'ok', statement: 'COPY items (v) FROM STDIN', table: 'items', rows: 3 },
    { operation: 'SELECT', status: 'ok', statement: 'SELECT count(*) FROM items', table: 'items', rows: 1 },
  ];

  // TLS: the SSLRequest is answered 'S'; the parser says so and stops.
  const tls = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    ssl: { rejectUnauthorized: false },
  });
  await tls.connect();
  const tlsPort = (tls as unknown as { connection: { stream: { remotePort: number; localPort: number } } })
    .connection.stream.localPort;
  await tls.query("SELECT 'hidden'");
  await tls.end();

  const file = await capture.stop();
  const { items, counters } = await replayCapture(file, [createPostgresProtocol()]);

  const main = items.filter((i) => i.conn.client.port === clientPort);
  const summary = () =>
    JSON.stringify({
      clientPort,
      seen: items.map((i) => [i.conn.client.port, i.conn.midstream, i.tx.operation, i.tx.complete]),
      counters: counters.snapshot(),
      errors: [...counters.parseErrorsBy.values()],
      notParsed: [...counters.notParsedBy.values()],
    });
  assert.deepEqual(
    main.map((i) => dbView(i.tx)),
    expected,
    summary(),
  );
  for (const { tx } of main) {
    assert.equal(tx.protocol, 'postgres');
    assert.equal(tx.complete, true);
    assert.equal(tx.db?.system, 'postgresql');
    assert.ok(tx.endMs >= tx.startMs);
    assert.ok(tx.requestBytes > 0 && tx.responseBytes > 0);
    assert.ok(!JSON.stringify(tx.db).includes('secret-value'), 'literals never reach a signal');
  }
  const psqlTxs = items.filter((i) => i.conn.client.port !== clientPort && i.conn.client.port !== tlsPort);
  assert.deepEqual(
    psqlTxs.map((i) => dbView(i.tx)),
    psqlExpected,
  );
  assert.equal(items.filter((i) => i.conn.client.port === tlsPort).length, 0, 'nothing parsed after TLS');
  // Reported as not parsed, never as a parse error: the traffic itself is fine.
  assert.equal(counters.notParsedBy.get('postgres\u0000tls')?.count, 1, summary());
  assert.equal(counters.notParsedTotal, 1, summary());
  assert.equal(counters.parseErrorTotal, 0, summary());
  assert.equal(counters.internalErrors, 0);
});
