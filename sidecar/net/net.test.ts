import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ACK,
  bytes,
  FIN,
  ipPacket,
  LINK_TYPE,
  type LinkKind,
  linkFrame,
  type Packet,
  PSH,
  RST,
  SYN,
  TcpFlow,
  tcpHeader,
} from '../../test/harness/pcap.ts';
import {
  DECODE_FRAGMENT,
  DECODE_MALFORMED,
  DECODE_NOT_IP,
  DECODE_NOT_TCP,
  DECODE_OK,
  decodeTcp,
  newSegment,
  type TcpSegment,
} from './packet.ts';
import { createReassembler, type ReassemblyLimits, type Side, type TcpConnection } from './reassembly.ts';

describe('link layers and IP', () => {
  const tcp = tcpHeader({
    srcPort: 40000,
    dstPort: 80,
    seq: 7,
    ack: 9,
    flags: ACK | PSH,
    payload: Buffer.from('data'),
  });
  for (const link of ['ethernet', 'sll', 'sll2', 'raw', 'null', 'loop'] as LinkKind[]) {
    for (const [src, dst] of [
      ['10.1.2.3', '10.9.8.7'],
      ['fd00::1', '2001:db8::42:1'],
    ] as const) {
      it(`decodes TCP over ${src.includes(':') ? 'IPv6' : 'IPv4'} on ${link}`, () => {
        const seg = newSegment();
        const frame = linkFrame(link, ipPacket(src, dst, 6, tcp));
        assert.equal(decodeTcp(LINK_TYPE[link], frame, seg), DECODE_OK);
        assert.equal(seg.srcIp, src);
        assert.equal(seg.dstIp, dst);
        assert.equal(seg.srcPort, 40000);
        assert.equal(seg.dstPort, 80);
        assert.equal(seg.seq, 7);
        assert.equal(seg.ack, 9);
        assert.equal(frame.toString('latin1', seg.payloadStart, seg.payloadEnd), 'data');
      });
    }
  }

  it('skips Ethernet VLAN tags and IPv6 extension headers', () => {
    const seg = newSegment();
    const ip = ipPacket('10.0.0.1', '10.0.0.2', 6, tcp);
    const vlan = bytes().zeros(12).u16(0x8100).u16(5).u16(0x0800).raw(ip).build();
    assert.equal(decodeTcp(1, vlan, seg), DECODE_OK);
    const ext = bytes().u8(6, 0).zeros(6).raw(tcp).build(); // hop-by-hop, next header TCP
    const v6 = ipPacket('::1', '::1', 0, ext);
    assert.equal(decodeTcp(101, v6, seg), DECODE_OK);
    assert.equal(seg.dstPort, 80);
  });

  it('prints IPv6 addresses as Node does', () => {
    const seg = newSegment();
    decodeTcp(101, ipPacket('::ffff:1.2.3.4', '2001:db8:0:0:1:0:0:1', 6, tcp), seg);
    assert.equal(seg.srcIp, '::ffff:1.2.3.4');
    assert.equal(seg.dstIp, '2001:db8::1:0:0:1');
  });

  it('classifies what is not a usable TCP segment', () => {
    const seg = newSegment();
    assert.equal(decodeTcp(1, bytes().zeros(12).u16(0x0806).zeros(28).build(), seg), DECODE_NOT_IP);
    assert.equal(decodeTcp(101, ipPacket('10.0.0.1', '10.0.0.2', 17, Buffer.alloc(8)), seg), DECODE_NOT_TCP);
    const frag = ipPacket('10.0.0.1', '10.0.0.2', 6, tcp);
    frag.writeUInt16BE(0x2000, 6); // more fragments
    assert.equal(decodeTcp(101, frag, seg), DECODE_FRAGMENT);
    const full = linkFrame('ethernet', ipPacket('10.0.0.1', '10.0.0.2', 6, tcp));
    for (let cut = 0; cut < 14 + 40; cut++) {
      const r = decodeTcp(1, full.subarray(0, cut), seg);
      assert.ok(r === DECODE_MALFORMED || r === DECODE_NOT_IP, `cut at ${cut}: ${r}`);
    }
    assert.equal(decodeTcp(999, full, seg), DECODE_NOT_IP);
  });

  it('never reads past the frame, whatever the bytes', () => {
    const seg = newSegment();
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 101, 108, 113, 276),
        fc.uint8Array({ maxLength: 120 }),
        (lt, data) => {
          const frame = Buffer.from(data);
          if (decodeTcp(lt, frame, seg) === DECODE_OK) {
            assert.ok(seg.payloadStart <= seg.payloadEnd && seg.payloadEnd <= frame.length);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

interface Event {
  conn: TcpConnection;
  data: Record<Side, Buffer[]>;
  gaps: { side: Side; bytes: number }[];
  closed: number;
}

function harness(limits: Partial<ReassemblyLimits> = {}, flowHash?: (seg: TcpSegment) => number) {
  const events: Event[] = [];
  const seg = newSegment();
  const r = createReassembler({
    limits,
    ...(flowHash ? { flowHash } : {}),
    onOpen(conn) {
      const e: Event = { conn, data: { client: [], server: [] }, gaps: [], closed: 0 };
      events.push(e);
      return {
        onData: (side, chunk) => e.data[side].push(Buffer.from(chunk)),
        onGap: (side, n) => {
          e.gaps.push({ side, bytes: n });
          e.data[side].push(Buffer.from(`<gap ${n}>`));
        },
        onClose: () => {
          e.closed++;
        },
      };
    },
  });
  const feed = (linkType: number, packets: readonly Packet[]): void => {
    for (const p of packets) {
      assert.equal(decodeTcp(linkType, p.frame, seg), DECODE_OK);
      r.segment(seg, p.frame, p.tsMs);
    }
  };
  const text = (e: Event, side: Side): string => Buffer.concat(e.data[side]).toString('latin1');
  return { r, events, feed, text };
}

const REQUEST = 'a'.repeat(3000);
const RESPONSE = 'b'.repeat(5000);

function conversation(o: { clientIsn?: number; serverIsn?: number } = {}): TcpFlow {
  return new TcpFlow({ client: ['10.0.0.1', 40000], server: ['10.0.0.2', 8080], mss: 700, ...o })
    .handshake()
    .send('client', REQUEST)
    .send('server', RESPONSE)
    .close();
}

describe('tcp reassembly', () => {
  it('delivers both directions in order and closes on FIN', () => {
    const f = conversation();
    const { r, events, feed, text } = harness();
    feed(f.linkType, f.packets);
    assert.equal(events.length, 1);
    const e = events[0]!;
    assert.deepEqual(e.conn.client, { ip: '10.0.0.1', port: 40000 });
    assert.equal(e.conn.midstream, false);
    assert.equal(text(e, 'client'), REQUEST);
    assert.equal(text(e, 'server'), RESPONSE);
    assert.equal(e.closed, 1);
    assert.equal(r.activeConnections, 0);
  });

  it('reorders, drops duplicates and trims overlaps; sequence numbers may wrap', () => {
    const f = conversation({ clientIsn: 0xfffffe00, serverIsn: 0xffffff00 });
    const data = f.packets.filter((p, i) => i > 2 && p.frame.length > 80);
    const { events, feed, text } = harness();
    feed(f.linkType, f.packets.slice(0, 3));
    // Within each direction: every data segment reversed and sent twice, plus an overlapping
    // re-segmentation. (Across directions the capture point keeps the order: an endpoint
    // only acknowledges what it received.)
    const overlap = f.segment(
      'client',
      ACK,
      Buffer.from(REQUEST.slice(500, 1600)),
      (0xfffffe00 + 1 + 500) >>> 0,
    );
    // Built after the whole flow, so it would acknowledge everything: give it the ack of
    // the request's segments.
    data[0]!.frame.copy(overlap.frame, 14 + 20 + 8, 14 + 20 + 8, 14 + 20 + 12);
    const fromClient = (p: Packet): boolean => p.frame.readUInt16BE(14 + 20) === 40000;
    const client = data.filter(fromClient);
    const server = data.filter((p) => !fromClient(p));
    feed(f.linkType, [overlap, ...[...client].reverse().flatMap((p) => [p, p])]);
    feed(
      f.linkType,
      [...server].reverse().flatMap((p) => [p, p]),
    );
    feed(f.linkType, f.packets.slice(-4));
    const e = events[0]!;
    assert.equal(text(e, 'client'), REQUEST);
    assert.equal(text(e, 'server'), RESPONSE);
    assert.deepEqual(e.gaps, []);
  });

  it('declares a gap when the peer acknowledges bytes the capture never saw', () => {
    const f = new TcpFlow({ client: ['10.0.0.1', 40000], server: ['10.0.0.2', 80], mss: 100 })
      .handshake()
      .send('client', 'x'.repeat(300))
      .send('server', 'ok')
      .close();
    const lost = f.packets[4]!; // second client data segment
    const { events, feed, text } = harness();
    feed(
      f.linkType,
      f.packets.filter((p) => p !== lost),
    );
    const e = events[0]!;
    assert.deepEqual(e.gaps, [{ side: 'client', bytes: 100 }]);
    assert.equal(text(e, 'client'), `${'x'.repeat(100)}<gap 100>${'x'.repeat(100)}`);
    assert.equal(text(e, 'server'), 'ok');
  });

  it('a lost last segment is a gap too (seen from the ACK)', () => {
    const f = new TcpFlow({ client: ['10.0.0.1', 40000], server: ['10.0.0.2', 80], mss: 100 })
      .handshake()
      .send('client', 'y'.repeat(150));
    const lost = f.packets[4]!;
    const { events, feed } = harness();
    feed(
      f.linkType,
      f.packets.filter((p) => p !== lost),
    );
    assert.deepEqual(events[0]!.gaps, [{ side: 'client', bytes: 50 }]);
  });

  it('bounds out-of-order buffering per connection and in total, counting drops', () => {
    const f = new TcpFlow({ client: ['10.0.0.1', 40000], server: ['10.0.0.2', 80], mss: 100 }).handshake();
    f.send('client', 'z'.repeat(1000), { ack: false });
    const segs = f.packets.slice(3);
    const { r, events, feed, text } = harness({ maxConnectionBufferBytes: 300, maxTotalBufferBytes: 10_000 });
    feed(f.linkType, f.packets.slice(0, 3));
    feed(f.linkType, segs.slice(1)); // the first segment is missing: everything waits
    const e = events[0]!;
    assert.ok(r.counters.bufferedBytes <= 300);
    assert.ok(e.gaps.length >= 1 && e.gaps[0]!.bytes === 100, JSON.stringify(e.gaps));
    assert.equal(text(e, 'client').replace('<gap 100>', ''), 'z'.repeat(900));

    const t = harness({ maxConnectionBufferBytes: 10_000, maxTotalBufferBytes: 250 });
    t.feed(f.linkType, f.packets.slice(0, 3));
    t.feed(f.linkType, segs.slice(1));
    assert.equal(t.r.counters.droppedBytes, 700);
    assert.equal(t.r.counters.bufferedBytes, 200);
    t.r.closeAll(0);
    assert.equal(t.r.counters.bufferedBytes, 0);
  });

  it('joins mid-stream, guessing the client by port', () => {
    const f = conversation();
    const { events, feed, text } = harness();
    feed(f.linkType, f.packets.slice(5)); // no handshake, first two client segments missing
    const e = events[0]!;
    assert.equal(e.conn.midstream, true);
    assert.deepEqual(e.conn.server, { ip: '10.0.0.2', port: 8080 });
    assert.ok(REQUEST.endsWith(text(e, 'client')));
    assert.equal(text(e, 'server'), RESPONSE);
  });

  it('closes on RST, on idle timeout and evicts beyond the connection limit', () => {
    const a = new TcpFlow({ client: ['10.0.0.1', 1111], server: ['10.0.0.2', 80] })
      .handshake()
      .send('client', 'q')
      .rst('server');
    const h = harness({ idleTimeoutMs: 1000, maxConnections: 2 });
    h.feed(a.linkType, a.packets);
    assert.equal(h.events[0]!.closed, 1);
    for (const port of [2222, 3333, 4444]) {
      const b = new TcpFlow({ client: ['10.0.0.1', port], server: ['10.0.0.2', 80] })
        .handshake()
        .send('client', 'q');
      h.feed(b.linkType, b.packets);
    }
    assert.equal(h.r.counters.connectionsEvicted, 1);
    assert.equal(h.events[1]!.closed, 1);
    h.r.expire(1_700_000_000_000 + 5000);
    assert.equal(h.r.activeConnections, 0);
    assert.equal(h.r.counters.connectionsExpired, 2);
  });

  it('a new SYN on a tracked 4-tuple starts a new connection', () => {
    const first = new TcpFlow({ client: ['10.0.0.1', 5555], server: ['10.0.0.2', 80] })
      .handshake()
      .send('client', 'one');
    const second = new TcpFlow({ client: ['10.0.0.1', 5555], server: ['10.0.0.2', 80], clientIsn: 999_999 })
      .handshake()
      .send('client', 'two');
    const h = harness();
    h.feed(first.linkType, [...first.packets, ...second.packets]);
    assert.equal(h.events.length, 2);
    assert.equal(h.events[0]!.closed, 1);
    assert.equal(h.text(h.events[1]!, 'client'), 'two');
  });

  for (const [name, flowHash] of [
    ['the flow hash', undefined],
    ['one bucket for all (every lookup walks a chain)', () => 7],
  ] as const) {
    it(`keeps interleaved connections apart by their 4-tuple: ${name}`, () => {
      // Same ports, addresses that differ in one word, both directions, and an IPv6 address
      // whose last word equals an IPv4 one: all different connections.
      const ends: [[string, number], [string, number]][] = [
        [
          ['10.0.0.1', 40000],
          ['10.0.0.2', 80],
        ],
        [
          ['10.0.0.2', 40000],
          ['10.0.0.1', 80],
        ],
        [
          ['10.0.0.1', 40001],
          ['10.0.0.2', 80],
        ],
        [
          ['10.0.0.3', 80],
          ['10.0.0.2', 40000],
        ],
        [
          ['::a00:1', 40000],
          ['::a00:2', 80],
        ],
        [
          ['fd00::a00:1', 40000],
          ['::a00:2', 80],
        ],
      ];
      const flows = ends.map(([client, server]) => new TcpFlow({ client, server }));
      flows.forEach((f, i) => {
        f.handshake().send('client', `request ${i}`).send('server', `response ${i}`);
      });
      // The middle of the chain ends first (RST), the rest with FINs.
      flows[2]!.rst('client');
      for (const [i, f] of flows.entries()) if (i !== 2) f.close();
      const h = harness({}, flowHash);
      const longest = Math.max(...flows.map((f) => f.packets.length));
      for (let k = 0; k < longest; k++) {
        for (const f of flows) if (k < f.packets.length) h.feed(f.linkType, [f.packets[k]!]);
      }
      assert.equal(h.events.length, flows.length);
      ends.forEach(([[ip, port]], i) => {
        const e = h.events.find((ev) => h.text(ev, 'client') === `request ${i}`);
        assert.ok(e, `connection ${i}`);
        assert.equal(h.text(e, 'server'), `response ${i}`);
        assert.equal(e.closed, 1);
        assert.equal(e.conn.midstream, false);
        assert.deepEqual(e.conn.client, { ip, port });
      });
      assert.equal(h.r.activeConnections, 0);
      assert.equal(h.r.counters.connectionsOpened, flows.length);
    });
  }

  it('random reordering, duplication and loss never throw and deliver every byte once or a gap', () => {
    const f = conversation();
    const head = f.packets.slice(0, 3);
    const body = f.packets.slice(3);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(body.length - 1), fc.nat(body.length - 1)), { maxLength: 20 }),
        fc.array(fc.nat(body.length - 1), { maxLength: 10 }),
        fc.array(fc.nat(body.length - 1), { maxLength: 2 }),
        (swaps, dups, losses) => {
          let pkts = [...body];
          const port = (p: Packet): number => p.frame.readUInt16BE(14 + 20);
          for (const [i, j] of swaps) {
            const a = pkts[i]!;
            const b = pkts[j]!;
            // Reordering within one direction, between two data segments only.
            if (port(a) === port(b) && a.frame.length > 80 && b.frame.length > 80)
              [pkts[i], pkts[j]] = [b, a];
          }
          for (const d of dups) pkts.splice(d, 0, pkts[d]!);
          const lost = new Set(losses.map((i) => body[i]));
          pkts = pkts.filter((p) => !lost.has(p));
          const { r, events, feed } = harness({ maxConnectionBufferBytes: 1 << 16 });
          feed(f.linkType, [...head, ...pkts]);
          r.closeAll(0);
          const e = events[0]!;
          for (const side of ['client', 'server'] as const) {
            const got = Buffer.concat(e.data[side])
              .toString('latin1')
              .replace(/<gap \d+>/g, '');
            const want = side === 'client' ? REQUEST : RESPONSE;
            const gapBytes = e.gaps.filter((g) => g.side === side).reduce((n, g) => n + g.bytes, 0);
            // Every byte is delivered once or accounted for as a gap.
            assert.equal(got.length + gapBytes, want.length, `${side}: ${got.length} + ${gapBytes}`);
            if (lost.size === 0) assert.equal(got, want);
          }
          assert.equal(r.counters.bufferedBytes, 0);
          assert.ok(e.closed === 1);
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(FIN | SYN | RST, 7);
  });
});
