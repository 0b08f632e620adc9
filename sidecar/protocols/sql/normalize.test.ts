import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { analyzeSql, normalizeSql } from './index.ts';

const pg = { dialect: 'postgresql' } as const;
const my = { dialect: 'mysql' } as const;

test('literals become placeholders, identifiers and parameters stay', () => {
  assert.equal(
    normalizeSql("SELECT * FROM users WHERE email = 'a@b.c' AND id = 42 AND x = $1", pg),
    'SELECT * FROM users WHERE email = ? AND id = ? AND x = $1',
  );
  assert.equal(normalizeSql("select 'it''s', E'a\\'b', -1.5e3, 0x1F from t", pg), 'select ?, ?, ?, ? from t');
  assert.equal(normalizeSql('SELECT $tag$ body; $1 $tag$, $$x$$', pg), 'SELECT ?, ?');
  assert.equal(
    normalizeSql('SELECT "Name" FROM "My Table" WHERE a = TRUE', pg),
    'SELECT "Name" FROM "My Table" WHERE a = ?',
  );
  assert.equal(normalizeSql('SELECT a - 1, b-2 FROM t', pg), 'SELECT a - ?, b-? FROM t');
});

test('mysql: double quotes and backslash escapes are strings, backticks identifiers', () => {
  assert.equal(
    normalizeSql('SELECT `id` FROM `t` WHERE n = "x\\"y" AND m = \'a\\\'b\' AND p = ?', my),
    'SELECT `id` FROM `t` WHERE n = ? AND m = ? AND p = ?',
  );
  assert.equal(normalizeSql("SELECT X'ABCD', _utf8mb4'x' # comment\n FROM t", my), 'SELECT ?, ? FROM t');
});

test('comments and whitespace vanish, lists fold', () => {
  assert.equal(
    normalizeSql('/* hi */ SELECT  a ,b\n\tFROM t -- c\n WHERE id IN (1, 2, 3)', pg),
    'SELECT a, b FROM t WHERE id IN (?)',
  );
  assert.equal(
    normalizeSql("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, NULL)", pg),
    'INSERT INTO t (a, b) VALUES (?, ?)',
  );
});

test('operation and plain table', () => {
  const cases: Array<[string, string | undefined, string | undefined]> = [
    ['SELECT * FROM public.users u WHERE id = 1', 'SELECT', 'public.users'],
    ['select a from t1 join t2 on t1.id = t2.id', 'SELECT', undefined],
    ['SELECT a FROM t1, t2', 'SELECT', undefined],
    ['SELECT 1', 'SELECT', undefined],
    ['SELECT * FROM (SELECT 1) x', 'SELECT', undefined],
    ['insert into "Items" (a) values (1)', 'INSERT', 'Items'],
    ['UPDATE accounts SET x = 1 WHERE id = 2', 'UPDATE', 'accounts'],
    ['DELETE FROM logs WHERE at < now()', 'DELETE', 'logs'],
    ['CREATE TABLE IF NOT EXISTS widgets (id int)', 'CREATE TABLE', 'widgets'],
    ['DROP TABLE IF EXISTS `w`', 'DROP TABLE', 'w'],
    ['COPY items FROM STDIN', 'COPY', 'items'],
    ['WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x', 'INSERT', 't'],
    ['BEGIN', 'BEGIN', undefined],
    ['  ', undefined, undefined],
  ];
  for (const [sql, op, table] of cases) {
    const info = analyzeSql(sql, pg);
    assert.equal(info.operation, op, sql);
    assert.equal(info.table, table, sql);
  }
});

test('long statements are cut', () => {
  const long = `SELECT ${'a, '.repeat(2000)}b FROM t`;
  const out = normalizeSql(long, { dialect: 'postgresql', maxLength: 100 });
  assert.ok(out.length <= 101);
  assert.ok(out.endsWith('…'));
});

test('fuzz: any text normalizes without throwing and keeps no digits outside names', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), fc.constantFrom('postgresql', 'mysql'), (s, dialect) => {
      const info = analyzeSql(s, { dialect: dialect as 'postgresql' | 'mysql' });
      assert.equal(typeof info.normalized, 'string');
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.integer(), fc.string({ maxLength: 20 }), (n, s) => {
      const sql = `SELECT * FROM t WHERE a = ${n} AND b = '${s.replaceAll("'", "''")}'`;
      assert.equal(normalizeSql(sql, pg), 'SELECT * FROM t WHERE a = ? AND b = ?');
    }),
    { numRuns: 300 },
  );
});
