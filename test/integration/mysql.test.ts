/**
 * MySQL protocol against a real MariaDB (mariadb-install-db + mariadbd in a temp dir, on a
 * free loopback port), driven by `mysql2` (text queries, prepared statements, errors,
 * multi-statements, TLS, the compressed protocol) and the `mariadb` command-line client.
 * tcpdump records the traffic; the replay is compared with what each client did.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import mysql from 'mysql2/promise';
import { createMysqlProtocol } from '../../sidecar/protocols/mysql/index.ts';
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

const localPort = (conn: mysql.Connection): number =>
  (conn as unknown as { connection: { stream: { localPort: number } } }).connection.stream.localPort;

test('mysql: mysql2 and the mariadb client against a real MariaDB, captured and replayed', {
  timeout: 180_000,
}, async (t) => {
  requireCommands(
    ['mariadbd', 'mariadb-install-db', 'mariadb', 'openssl'],
    'apt-get install mariadb-server mariadb-client',
  );
  const dir = await mkdtemp(join(tmpdir(), 'axom-mysql-'));
  t.after(() => (process.env.AXOM_KEEP_TMP ? undefined : rm(dir, { recursive: true, force: true })));
  const data = join(dir, 'data');
  opensslSelfSignedCert(dir, { keyType: 'rsa' });
  const install = spawnSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      '--user=root',
      `--datadir=${data}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(install.status, 0, `mariadb-install-db failed: ${install.stderr}${install.stdout}`);

  const port = await freePort();
  const server = new ManagedProcess({
    name: 'mariadbd',
    command: 'mariadbd',
    args: [
      '--no-defaults',
      '--user=root',
      `--datadir=${data}`,
      `--socket=${join(dir, 'mysqld.sock')}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--tmpdir=${dir}`,
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
      '--skip-grant-tables',
      `--ssl-cert=${join(dir, 'cert.pem')}`,
      `--ssl-key=${join(dir, 'key.pem')}`,
    ],
    logFile: join(dir, 'mariadbd.log'),
  });
  t.after(() => server.stop());
  await waitForPort(port, 60_000, 'mariadbd', server);

  const capture = await startWireCapture(dir, 'mysql', port);
  t.after(() => capture.stop());

  const expected: DbExpect[] = [];
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user: 'root',
    multipleStatements: true,
  });
  const mainPort = localPort(conn);
  try {
    const q = async (sql: string, e: Omit<DbExpect, 'status'>): Promise<void> => {
      await conn.query(sql);
      expected.push({ status: 'ok', ...e });
    };
    await q('CREATE DATABASE axom', {
      operation: 'CREATE DATABASE',
      statement: 'CREATE DATABASE axom',
      rows: 1,
    });
    await q('USE axom', { operation: 'USE', statement: 'USE axom', rows: 0 });
    await q('CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32))', {
      operation: 'CREATE TABLE',
      statement: 'CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(?))',
      table: 'items',
      rows: 0,
    });
    const [ins] = (await conn.query("INSERT INTO items (v) VALUES ('a'), ('b'), ('secret-value')")) as [
      mysql.ResultSetHeader,
      unknown,
    ];
    expected.push({
      status: 'ok',
      operation: 'INSERT',
      statement: 'INSERT INTO items (v) VALUES (?)',
      table: 'items',
      rows: ins.affectedRows,
    });
    const [rows] = (await conn.query('SELECT v FROM items ORDER BY id')) as [unknown[], unknown];
    expected.push({
      status: 'ok',
      operation: 'SELECT',
      statement: 'SELECT v FROM items ORDER BY id',
      table: 'items',
      rows: rows.length,
    });
    // prepared: COM_STMT_PREPARE once (not a transaction of its own), COM_STMT_EXECUTE twice
    for (const id of [1, 2]) {
      const [r] = (await conn.execute('SELECT v FROM items WHERE id = ?', [id])) as [unknown[], unknown];
      expected.push({
        status: 'ok',
        operation: 'SELECT',
        statement: 'SELECT v FROM items WHERE id = ?',
        table: 'items',
        rows: r.length,
      });
    }
    const [upd] = (await conn.execute('UPDATE items SET v = ? WHERE id > ?', ['z', 1])) as [
      mysql.ResultSetHeader,
      unknown,
    ];
    expected.push({
      status: 'ok',
      operation: 'UPDATE',
      statement: 'UPDATE items SET v = ? WHERE id > ?',
      table: 'items',
      rows: upd.affectedRows,
    });
    // errors: a missing table (COM_QUERY) and a syntax error at prepare time
    for (const [sql, prepared] of [
      ['SELECT * FROM missing_table', false],
      ['SELEC ?', true],
    ] as const) {
      const err = await (prepared ? conn.execute(sql, [1]) : conn.query(sql)).then(
        () => assert.fail('expected an error'),
        (e: { errno: number; sqlMessage: string }) => e,
      );
      expected.push({
        status: String(err.errno),
        operation: sql.split(' ')[0],
        statement: sql,
        ...(sql.includes('missing') ? { table: 'missing_table' } : {}),
        errorMessage: err.sqlMessage,
      });
    }
    // three statements, two result sets, one OK
    await conn.query('SELECT 1; SELECT 2, 3; UPDATE items SET v = "q" WHERE id = 1');
    expected.push({
      status: 'ok',
      operation: 'SELECT',
      statement: 'SELECT ?; SELECT ?, ?; UPDATE items SET v = ? WHERE id = ?',
      rows: 2,
    });
    // closing a statement then executing it again re-prepares
    conn.unprepare('SELECT v FROM items WHERE id = ?');
    const [again] = (await conn.execute('SELECT v FROM items WHERE id = ?', [3])) as [unknown[], unknown];
    expected.push({
      status: 'ok',
      operation: 'SELECT',
      statement: 'SELECT v FROM items WHERE id = ?',
      table: 'items',
      rows: again.length,
    });
  } finally {
    await conn.end();
  }

  // The command-line client (its own capabilities, CLIENT_DEPRECATE_EOF when the server has it).
  const cli = spawnSync(
    'mariadb',
    [
      '--no-defaults',
      '-h',
      '127.0.0.1',
      '-P',
      String(port),
      '-u',
      'root',
      '--skip-ssl',
      '-D',
      'axom',
      '-N',
      '-e',
      "SELECT count(*) FROM items WHERE v <> 'x'",
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout.trim(), '3');

  // TLS: reported as not parsed; the compressed protocol: the same.
  const tls = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user: 'root',
    ssl: { rejectUnauthorized: false },
  });
  const tlsPort = localPort(tls);
  await tls.query("SELECT 'hidden-over-tls'");
  await tls.end();
  const zip = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', compress: true });
  const zipPort = localPort(zip);
  await zip.query("SELECT 'hidden-compressed'");
  await zip.end();

  const file = await capture.stop();
  const { items, counters } = await replayCapture(file, [createMysqlProtocol()]);
  const summary = () =>
    JSON.stringify({
      mainPort,
      seen: items.map((i) => [i.conn.client.port, i.tx.operation, i.tx.status, i.tx.db?.statement]),
      errors: [...counters.parseErrorsBy.values()],
      notParsed: [...counters.notParsedBy.values()],
    });
  const main = items.filter((i) => i.conn.client.port === mainPort);
  assert.deepEqual(
    main.map((i) => dbView(i.tx)),
    expected,
    summary(),
  );
  for (const { tx } of main) {
    assert.equal(tx.protocol, 'mysql');
    assert.equal(tx.complete, true);
    assert.equal(tx.db?.system, 'mysql');
    assert.ok(tx.endMs >= tx.startMs);
    assert.ok(tx.requestBytes > 0 && tx.responseBytes > 0);
    assert.ok(!JSON.stringify(tx.db).includes('secret-value'), 'literals never reach a signal');
  }
  const others = items.filter((i) => ![mainPort, tlsPort, zipPort].includes(i.conn.client.port));
  assert.deepEqual(
    others.map((i) => dbView(i.tx)),
    [
      {
        status: 'ok',
        operation: 'SELECT',
        statement: 'SELECT count(*) FROM items WHERE v <> ?',
        table: 'items',
        rows: 1,
      },
    ],
    summary(),
  );
  assert.equal(items.filter((i) => i.conn.client.port === tlsPort).length, 0, 'nothing parsed after TLS');
  assert.equal(
    items.filter((i) => i.conn.client.port === zipPort).length,
    0,
    'compressed protocol not parsed',
  );
  // Reported as not parsed, never as parse errors: the traffic itself is fine.
  assert.equal(counters.notParsedBy.get('mysql\u0000tls')?.count, 1, summary());
  assert.equal(counters.notParsedBy.get('mysql\u0000compressed')?.count, 1, summary());
  assert.equal(counters.notParsedTotal, 2, summary());
  assert.equal(counters.parseErrorTotal, 0, summary());
  assert.equal(counters.internalErrors, 0);
});
