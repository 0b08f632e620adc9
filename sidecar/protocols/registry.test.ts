import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../lib/log.ts';
import { createDispatcher, createRegistry, detectTlsClientHello, registry } from './registry.ts';
import { testConn } from './testing.ts';
import type { ConnectionInfo, Detection, ProtocolDefinition, Side, Transaction } from './types.ts';

/** A protocol that claims connections starting with its magic and records what it gets. */
function fake(name: ProtocolDefinition['name'], magic: string, ports: number[] = []) {
  const got: { side: Side; text: string }[] = [];
  const def: ProtocolDefinition = {
    name,
    defaultPorts: ports,
    detect(first: Buffer): Detection {
      const m = Buffer.from(magic);
      const n = Math.min(first.length, m.length);
      if (!first.subarray(0, n).equals(m.subarray(0, n))) return 'no';
      return first.length >= m.length ? 'match' : 'need-more';
    },
    create: () => ({
      onData: (side, chunk) => got.push({ side, text: chunk.toString() }),
      onGap() {},
      onClose() {},
    }),
  };
  return { def, got };
}

function dispatcher(protocols: ProtocolDefinition[], conn: ConnectionInfo = testConn()) {
  const emitted: Transaction[] = [];
  const errors: string[] = [];
  const notParsed: string[] = [];
  let undetected = 0;
  const d = createDispatcher({
    conn,
    protocols,
    lookup: (name) => protocols.find((p) => p.name === name),
    limits: { maxBodyBytes: 1024, maxMessageBytes: 1 << 20 },
    counters: {
      parseError: (_p, code) => errors.push(code),
      notParsed: (p, reason) => notParsed.push(`${p}:${reason}`),
      dropped() {},
    },
    log: silentLogger,
    emit: (tx) => emitted.push(tx),
    onUndetected: () => {
      undetected++;
    },
  });
  return { d, emitted, errors, notParsed, undetected: () => undetected };
}

describe('protocol registry', () => {
  it('holds the built-in protocols and lets TLS replace its placeholder', () => {
    const r = createRegistry();
    const names = r.list().map((p) => p.name);
    for (const n of ['http', 'websocket', 'tls'] as const) assert.ok(names.includes(n), n);
    const tls = fake('tls', 'XX');
    r.register(tls.def);
    assert.equal(r.get('tls'), tls.def);
    assert.deepEqual(
      r.select(['http', 'tls']).map((p) => p.name),
      ['http', 'tls'],
    );
    assert.equal(registry.get('http')?.name, 'http');
  });

  it('recognizes a TLS ClientHello', () => {
    assert.equal(detectTlsClientHello(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), 'client'), 'match');
    assert.equal(detectTlsClientHello(Buffer.from([0x16, 0x03]), 'client'), 'need-more');
    assert.equal(detectTlsClientHello(Buffer.from('GET / HTTP/1.1'), 'client'), 'no');
    assert.equal(detectTlsClientHello(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x02]), 'client'), 'no');
  });
});

describe('connection dispatcher', () => {
  it('detects by content, buffering until a parser decides, and replays in order', () => {
    const a = fake('postgres', 'AAAA');
    const b = fake('mysql', 'BBBB');
    const { d } = dispatcher([a.def, b.def]);
    d.onData('client', Buffer.from('BB'), 1);
    assert.equal(d.protocol, undefined);
    d.onData('client', Buffer.from('BB-hello'), 2);
    d.onData('server', Buffer.from('reply'), 3);
    assert.equal(d.protocol, 'mysql');
    assert.deepEqual(b.got, [
      { side: 'client', text: 'BB' },
      { side: 'client', text: 'BB-hello' },
      { side: 'server', text: 'reply' },
    ]);
    assert.deepEqual(a.got, []);
  });

  it('ports only decide who is asked first', () => {
    const generic = fake('postgres', 'X');
    const hinted = fake('mysql', 'X', [80]);
    const { d } = dispatcher([generic.def, hinted.def]);
    d.onData('client', Buffer.from('X1'), 1);
    assert.equal(d.protocol, 'mysql');
    const other = dispatcher([generic.def, hinted.def], testConn({ server: { ip: '10.0.0.2', port: 5432 } }));
    other.d.onData('client', Buffer.from('X1'), 1);
    assert.equal(other.d.protocol, 'postgres');
  });

  it('ignores a connection nobody recognizes, and counts it', () => {
    const a = fake('postgres', 'AAAA');
    const { d, undetected } = dispatcher([a.def]);
    d.onData('client', Buffer.from('ZZZZ'), 1);
    d.onData('client', Buffer.from('AAAA'), 2);
    assert.equal(d.protocol, undefined);
    assert.equal(undetected(), 1);
    assert.deepEqual(a.got, []);
  });

  it('retries detection chunk by chunk on a connection joined mid-stream', () => {
    const a = fake('postgres', 'AAAA');
    const { d } = dispatcher([a.def], testConn({ midstream: true }));
    d.onData('client', Buffer.from('tail of something'), 1);
    d.onData('client', Buffer.from('AAAA start'), 2);
    assert.equal(d.protocol, 'postgres');
    assert.deepEqual(a.got, [{ side: 'client', text: 'AAAA start' }]);
  });

  it('bounds what it buffers while undecided', () => {
    const a = fake('postgres', 'A'.repeat(100_000));
    const { d, undetected } = dispatcher([a.def]);
    for (let i = 0; i < 40; i++) d.onData('client', Buffer.alloc(1000, 0x41), i);
    assert.equal(undetected(), 1);
  });

  it('follows switchProtocol with the carried bytes and an unknown target ends observation', () => {
    const next = fake('websocket', '');
    let ctxSwitch: ((n: 'websocket' | 'grpc') => void) | undefined;
    const first: ProtocolDefinition = {
      name: 'http',
      defaultPorts: [],
      detect: () => 'match',
      create: (ctx) => {
        ctxSwitch = (n) =>
          ctx.switchProtocol(n, [{ side: 'server', bytes: Buffer.from('carried') }], { startMs: 5 });
        return { onData() {}, onGap() {}, onClose() {} };
      },
    };
    const { d, errors } = dispatcher([first, next.def]);
    d.onData('client', Buffer.from('x'), 1);
    ctxSwitch!('websocket');
    assert.equal(d.protocol, 'websocket');
    d.onData('client', Buffer.from('after'), 2);
    assert.deepEqual(next.got, [
      { side: 'server', text: 'carried' },
      { side: 'client', text: 'after' },
    ]);
    const again = dispatcher([first]);
    again.d.onData('client', Buffer.from('x'), 1);
    ctxSwitch!('grpc');
    // The traffic is fine, there is just no parser for it: not a parse error.
    assert.deepEqual(again.notParsed, ['http:no-parser-for-grpc']);
    assert.deepEqual(again.errors, []);
    assert.deepEqual(errors, []);
  });
});
