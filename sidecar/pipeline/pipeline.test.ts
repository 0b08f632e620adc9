import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ACK, PSH, TcpFlow } from '../../test/harness/pcap.ts';
import type { ConnectionInfo, Transaction } from '../protocols/types.ts';
import { createPipeline } from './pipeline.ts';

const REQUEST = 'POST /v1/chat/completions HTTP/1.1\r\nHost: api\r\nContent-Length: 11\r\n\r\n{"a":"bcd"}';
const RESPONSE =
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n7\r\ndata: 1\r\n2\r\n\n\n\r\n0\r\n\r\n';
const UPGRADE = 'GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
const SWITCHED = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';

function collect(podIps?: string[]) {
  const txs: { tx: Transaction; conn: ConnectionInfo }[] = [];
  const pipeline = createPipeline({
    ...(podIps ? { podIps } : {}),
    limits: {
      maxBodyBytes: 512,
      maxMessageBytes: 8192,
      maxConnectionBufferBytes: 4096,
      maxTotalBufferBytes: 16384,
      maxConnections: 16,
    },
    onTransaction: (tx, conn) => txs.push({ tx, conn }),
  });
  return { pipeline, txs };
}

describe('pipeline', () => {
  it('sets direction from the pod addresses', () => {
    const out = new TcpFlow({ client: ['10.0.0.1', 40000], server: ['10.0.0.2', 80] })
      .handshake()
      .send('client', REQUEST)
      .send('server', RESPONSE)
      .close();
    const inbound = new TcpFlow({ client: ['10.0.0.9', 40001], server: ['10.0.0.1', 8080] })
      .handshake()
      .send('client', REQUEST)
      .send('server', RESPONSE)
      .close();
    const { pipeline, txs } = collect(['10.0.0.1']);
    for (const p of [...out.packets, ...inbound.packets])
      pipeline.handlePacket(out.linkType, p.frame, p.tsMs);
    pipeline.close();
    assert.deepEqual(
      txs.map((t) => [t.tx.operation, t.conn.direction, t.tx.response?.events?.[0]?.data]),
      [
        ['POST /v1/chat/completions', 'outbound', '1'],
        ['POST /v1/chat/completions', 'inbound', '1'],
      ],
    );
    const c = pipeline.counters.snapshot();
    assert.equal(c.transactions, 2);
    assert.equal(c.connectionsOpened, 2);
    assert.equal(c.connectionsActive, 0);
    assert.equal(c.gaps, 0);
  });

  it('counts what it ignores and what it cannot decode', () => {
    const { pipeline } = collect();
    pipeline.handlePacket(1, Buffer.alloc(10), 1);
    pipeline.handlePacket(
      1,
      Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]),
      1,
    );
    const c = pipeline.counters.snapshot();
    assert.equal(c.packets, 2);
    assert.equal(c.ignoredPackets, 2);
  });

  it('a throwing listener costs nothing but a counted error', () => {
    const f = new TcpFlow({ client: ['10.0.0.1', 40000], server: ['10.0.0.2', 80] })
      .handshake()
      .send('client', REQUEST)
      .send('server', RESPONSE)
      .send('client', REQUEST)
      .send('server', RESPONSE)
      .close();
    let calls = 0;
    const pipeline = createPipeline({
      onTransaction: () => {
        calls++;
        throw new Error('listener bug');
      },
    });
    for (const p of f.packets) pipeline.handlePacket(f.linkType, p.frame, p.tsMs);
    pipeline.close();
    assert.equal(calls, 2);
    assert.equal(pipeline.counters.snapshot().internalErrors, 2);
  });

  it('fuzz: random segmentation, loss, reordering and random bytes never crash and stay bounded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(400), { maxLength: 8 }),
        fc.array(fc.nat(400), { maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(400), fc.uint8Array({ minLength: 1, maxLength: 64 })), { maxLength: 5 }),
        fc.integer({ min: 1, max: 200 }),
        (swaps, losses, garbage, mss) => {
          const f = new TcpFlow({ client: ['10.0.0.1', 40000], server: ['10.0.0.2', 80], mss }).handshake();
          f.send('client', REQUEST).send('server', RESPONSE).send('client', UPGRADE).send('server', SWITCHED);
          f.send('client', Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x69, 0x6b])).send(
            'server',
            Buffer.from([0x88, 0x02, 0x03, 0xe8]),
          );
          f.close();
          const pkts = [...f.packets];
          for (const s of swaps) {
            const i = s % pkts.length;
            const j = (s * 7 + 3) % pkts.length;
            [pkts[i], pkts[j]] = [pkts[j]!, pkts[i]!];
          }
          for (const l of losses) pkts.splice(l % pkts.length, 1);
          for (const [at, data] of garbage) {
            pkts.splice(
              at % (pkts.length + 1),
              0,
              f.segment(at % 2 ? 'client' : 'server', ACK | PSH, Buffer.from(data), at * 7919),
            );
          }
          const { pipeline, txs } = collect();
          for (const p of pkts) pipeline.handlePacket(f.linkType, p.frame, p.tsMs);
          pipeline.close();
          const c = pipeline.counters.snapshot();
          assert.equal(c.internalErrors, 0);
          assert.equal(c.bufferedBytes, 0);
          assert.equal(c.connectionsActive, 0);
          for (const { tx } of txs) {
            assert.ok((tx.request?.body?.length ?? 0) <= 512);
            assert.ok((tx.response?.body?.length ?? 0) <= 512);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('fuzz: random frames on every link type never crash', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(0, 1, 101, 108, 113, 276), fc.uint8Array({ maxLength: 200 })), {
          maxLength: 50,
        }),
        (frames) => {
          const { pipeline } = collect();
          frames.forEach(([lt, data], i) => {
            pipeline.handlePacket(lt, Buffer.from(data), i);
          });
          pipeline.close();
          assert.equal(pipeline.counters.snapshot().internalErrors, 0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
