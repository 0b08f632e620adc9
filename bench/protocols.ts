/**
 * Parser throughput per protocol: PostgreSQL, MySQL, HTTP/2 and gRPC sessions fed a
 * recorded-shape conversation of N exchanges in 1448-byte chunks (one TCP segment each),
 * client and server interleaved per exchange, as reassembly delivers them. Each is read
 * against a peer measured in the same run over the same bytes:
 *
 *  - ceiling: a loop that only walks the protocol's length headers (framing, no decoding);
 *  - PostgreSQL also against pg-protocol's Parser (node-postgres' own backend-message
 *    parser) over the server side, the work a real client does for the same bytes.
 *
 *   node bench/protocols.ts [--time 1000] [--exchanges 500]
 */
import { parseArgs } from 'node:util';
import { Parser as PgProtocolParser } from 'pg-protocol/dist/parser.js';
import { Bench } from 'tinybench';
import { silentLogger } from '../lib/log.ts';
import { grpcMessage, H2Bytes } from '../sidecar/protocols/http2/fixtures.ts';
import * as F from '../sidecar/protocols/http2/frames.ts';
import { Http2Session } from '../sidecar/protocols/http2/index.ts';
import * as M from '../sidecar/protocols/mysql/constants.ts';
import { MyBytes } from '../sidecar/protocols/mysql/fixtures.ts';
import { MysqlSession } from '../sidecar/protocols/mysql/index.ts';
import { pg } from '../sidecar/protocols/postgres/fixtures.ts';
import { PostgresSession } from '../sidecar/protocols/postgres/index.ts';
import type { ProtocolSession, SessionContext, Side } from '../sidecar/protocols/types.ts';

const { values } = parseArgs({
  options: { time: { type: 'string', default: '1000' }, exchanges: { type: 'string', default: '500' } },
});
const TIME = Number(values.time);
const N = Number(values.exchanges);
const SEGMENT = 1448;

type Conversation = Array<[Side, Buffer[]]>;

function segment(side: Side, b: Buffer): [Side, Buffer[]] {
  const out: Buffer[] = [];
  for (let o = 0; o < b.length; o += SEGMENT) out.push(b.subarray(o, o + SEGMENT));
  return [side, out];
}

function bytesOf(c: Conversation): number {
  let n = 0;
  for (const [, parts] of c) for (const p of parts) n += p.length;
  return n;
}

let emitted = 0;
function context(server: number): SessionContext {
  return {
    conn: {
      id: 'bench',
      client: { ip: '10.0.0.1', port: 40000 },
      server: { ip: '10.0.0.2', port: server },
      direction: 'outbound',
      midstream: false,
    },
    limits: { maxBodyBytes: 1 << 20, maxMessageBytes: 16 << 20 },
    counters: { parseError() {}, notParsed() {}, dropped() {} },
    log: silentLogger,
    emit: () => {
      emitted++;
    },
    switchProtocol() {},
  };
}

function run(session: ProtocolSession, c: Conversation): void {
  let ts = 0;
  for (const [side, parts] of c) {
    for (const p of parts) session.onData(side, p, ts);
    ts++;
  }
  session.onClose(ts);
}

// --- PostgreSQL: simple queries and extended (Parse/Bind/Describe/Execute/Sync) alternate.
const pgConv: Conversation = [
  segment('client', pg().startup({ user: 'app', database: 'app' }).build()),
  segment('server', pg().authOk().parameterStatus('server_version', '15.4').ready().build()),
];
for (let i = 0; i < N; i++) {
  const rows = pg().rowDescription(['id', 'name', 'email']);
  for (let r = 0; r < 5; r++) rows.dataRow([String(i * 5 + r), `user-${r}`, `user${r}@example.com`]);
  if (i % 2 === 0) {
    pgConv.push(
      segment('client', pg().query(`SELECT id, name, email FROM users WHERE org = ${i} LIMIT 5`).build()),
    );
    pgConv.push(segment('server', rows.commandComplete('SELECT 5').ready().build()));
  } else {
    pgConv.push(
      segment(
        'client',
        pg()
          .parse('', 'SELECT id, name, email FROM users WHERE org = $1 LIMIT 5')
          .bind('', '', [String(i)])
          .describe('P', '')
          .execute('')
          .sync()
          .build(),
      ),
    );
    pgConv.push(segment('server', pg().parseComplete().bindComplete().build()));
    pgConv.push(segment('server', rows.commandComplete('SELECT 5').ready().build()));
  }
}

// --- MySQL: COM_QUERY with a 5-row result set, CLIENT_DEPRECATE_EOF negotiated.
const caps =
  M.CLIENT_PROTOCOL_41 |
  M.CLIENT_SECURE_CONNECTION |
  M.CLIENT_PLUGIN_AUTH |
  M.CLIENT_DEPRECATE_EOF |
  M.CLIENT_MULTI_RESULTS;
const myConv: Conversation = [
  segment('server', new MyBytes(0).greeting(caps).build()),
  segment('client', new MyBytes(1).handshakeResponse(caps).build()),
  segment('server', new MyBytes(2).ok().build()),
];
for (let i = 0; i < N; i++) {
  myConv.push(
    segment(
      'client',
      new MyBytes(0).query(`SELECT id, name, email FROM users WHERE org = ${i} LIMIT 5`).build(),
    ),
  );
  const rows = Array.from({ length: 5 }, (_, r) => [String(i * 5 + r), `user-${r}`, `user${r}@example.com`]);
  myConv.push(segment('server', new MyBytes(1).resultSet(['id', 'name', 'email'], rows, true).build()));
}

// --- HTTP/2: chat-completion-shaped POSTs (1 KB JSON each way) on one connection.
const h2c = new H2Bytes();
const h2s = new H2Bytes();
const h2Conv: Conversation = [
  segment(
    'client',
    h2c
      .preface()
      .settings([[F.SETTINGS_HEADER_TABLE_SIZE, 4096]])
      .build(),
  ),
  segment('server', h2s.settings().settings([], true).build()),
];
const reqBody = JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'x'.repeat(900) }] });
const resBody = JSON.stringify({
  id: 'c',
  choices: [{ message: { content: 'y'.repeat(900) } }],
  usage: { prompt_tokens: 10 },
});
for (let i = 0; i < N; i++) {
  const id = 1 + 2 * i;
  h2Conv.push(
    segment(
      'client',
      h2c
        .headers(id, [
          [':method', 'POST'],
          [':scheme', 'https'],
          [':path', '/v1/chat/completions'],
          [':authority', 'api.example.com'],
          ['content-type', 'application/json'],
          ['authorization', 'Bearer sk-bench'],
          ['user-agent', 'bench/1.0'],
          ['x-request-id', `req-${i}`],
        ])
        .data(id, reqBody, { endStream: true })
        .build(),
    ),
  );
  h2Conv.push(
    segment(
      'server',
      h2s
        .headers(id, [
          [':status', '200'],
          ['content-type', 'application/json'],
          ['x-request-id', `req-${i}`],
        ])
        .data(id, resBody, { endStream: true })
        .build(),
    ),
  );
}

// --- gRPC: unary calls with a 200-byte message each way.
const gc = new H2Bytes();
const gs = new H2Bytes();
const grpcConv: Conversation = [
  segment('client', gc.preface().settings().build()),
  segment('server', gs.settings().build()),
];
for (let i = 0; i < N; i++) {
  const id = 1 + 2 * i;
  grpcConv.push(
    segment(
      'client',
      gc
        .headers(id, [
          [':method', 'POST'],
          [':scheme', 'http'],
          [':path', '/pkg.Inventory/GetItem'],
          [':authority', 'inventory:50051'],
          ['content-type', 'application/grpc'],
          ['te', 'trailers'],
        ])
        .data(id, grpcMessage(Buffer.alloc(200, 1)), { endStream: true })
        .build(),
    ),
  );
  grpcConv.push(
    segment(
      'server',
      gs
        .headers(id, [
          [':status', '200'],
          ['content-type', 'application/grpc'],
        ])
        .data(id, grpcMessage(Buffer.alloc(200, 2)))
        .headers(id, [['grpc-status', '0']], { endStream: true })
        .build(),
    ),
  );
}

// --- ceilings: walk the length headers only.
function walkPg(c: Conversation): number {
  let n = 0;
  for (const [side, parts] of c) {
    const b = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    let o = side === 'client' && n === 0 ? b.readUInt32BE(0) : 0;
    while (o + 5 <= b.length) {
      o += 1 + b.readUInt32BE(o + 1);
      n++;
    }
  }
  return n;
}
function walkMysql(c: Conversation): number {
  let n = 0;
  for (const [, parts] of c) {
    const b = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    for (let o = 0; o + 4 <= b.length; o += 4 + b.readUIntLE(o, 3)) n++;
  }
  return n;
}
function walkH2(c: Conversation): number {
  let n = 0;
  for (const [side, parts] of c) {
    const b = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    let o = side === 'client' && b.subarray(0, 3).toString() === 'PRI' ? F.CONNECTION_PREFACE.length : 0;
    for (; o + 9 <= b.length; o += 9 + b.readUIntBE(o, 3)) n++;
  }
  return n;
}

const pgServerBytes = pgConv.filter(([side], i) => side === 'server' && i > 1).flatMap(([, p]) => p);

const cases = [
  { name: 'postgres', conv: pgConv, make: () => new PostgresSession(context(5432)), walk: walkPg },
  { name: 'mysql', conv: myConv, make: () => new MysqlSession(context(3306)), walk: walkMysql },
  { name: 'http2', conv: h2Conv, make: () => new Http2Session(context(443)), walk: walkH2 },
  { name: 'grpc', conv: grpcConv, make: () => new Http2Session(context(50051)), walk: walkH2 },
];

const bench = new Bench({ time: TIME, warmupTime: 200 });
for (const c of cases) {
  bench.add(`${c.name}: ceiling (length headers only)`, () => {
    c.walk(c.conv);
  });
  bench.add(`${c.name}: axom session`, () => {
    run(c.make(), c.conv);
  });
}
bench.add('postgres: pg-protocol Parser (server side only)', () => {
  const parser = new PgProtocolParser();
  for (const p of pgServerBytes) parser.parse(p, () => {});
});

// Sanity: every exchange becomes one transaction.
for (const c of cases) {
  emitted = 0;
  run(c.make(), c.conv);
  if (emitted !== N) throw new Error(`${c.name}: ${emitted} transactions for ${N} exchanges`);
}

await bench.run();
const sizes = new Map(cases.map((c) => [c.name, bytesOf(c.conv)]));
const pgServerSize = pgServerBytes.reduce((s, p) => s + p.length, 0);
const rows = bench.tasks.map((task) => {
  const r = task.result as unknown as { throughput?: { mean: number }; hz?: number };
  const hz = r.throughput?.mean ?? r.hz ?? 0;
  const proto = task.name.split(':')[0]!;
  const bytes = task.name.includes('pg-protocol') ? pgServerSize : (sizes.get(proto) ?? 0);
  return {
    task: task.name,
    'MiB/s': Math.round((hz * bytes) / (1 << 20)),
    'exchanges/s': Math.round(hz * N),
  };
});
console.table(rows);
for (const c of cases) {
  const find = (suffix: string) => rows.find((r) => r.task === `${c.name}: ${suffix}`)!;
  const ratio = find('axom session')['MiB/s'] / Math.max(1, find('ceiling (length headers only)')['MiB/s']);
  console.log(`${c.name}: session at ${ratio.toFixed(3)} of the framing ceiling`);
}
console.log(`${N} exchanges per iteration, ${SEGMENT}-byte chunks, node ${process.version}`);
