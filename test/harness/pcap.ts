/**
 * Fixtures for capture tests: a fluent byte builder, packet builders for the link layers
 * the sidecar reads (Ethernet, Linux SLL and SLL2, raw IP, BSD loopback) over IPv4/IPv6
 * and TCP, a TCP flow simulator that keeps sequence numbers, and pcap/pcapng writers.
 */
import { writeFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';

/** Fluent byte builder: `bytes().u8(0x81).u16(5).ascii('hello').build()`. */
export class Bytes {
  private parts: Buffer[] = [];
  u8(...values: number[]): this {
    this.parts.push(Buffer.from(values));
    return this;
  }
  u16(v: number, le = false): this {
    const b = Buffer.alloc(2);
    if (le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number, le = false): this {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    this.parts.push(b);
    return this;
  }
  ascii(s: string): this {
    this.parts.push(Buffer.from(s, 'latin1'));
    return this;
  }
  utf8(s: string): this {
    this.parts.push(Buffer.from(s, 'utf8'));
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  zeros(n: number): this {
    this.parts.push(Buffer.alloc(n));
    return this;
  }
  get length(): number {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export const bytes = (): Bytes => new Bytes();

export type LinkKind = 'ethernet' | 'sll' | 'sll2' | 'raw' | 'null' | 'loop';

export const LINK_TYPE: Record<LinkKind, number> = {
  ethernet: 1,
  sll: 113,
  sll2: 276,
  raw: 101,
  null: 0,
  loop: 108,
};

function ipBytes(ip: string): Buffer {
  if (!isIPv6(ip)) return Buffer.from(ip.split('.').map(Number));
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (dotted) {
    const v4 = Buffer.from(dotted[2]!.split('.').map(Number));
    ip = `${dotted[1]}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':').filter(Boolean) : [];
  const t = tail ? tail.split(':').filter(Boolean) : [];
  const words = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  words.forEach((w, i) => {
    b.writeUInt16BE(Number.parseInt(w, 16), i * 2);
  });
  return b;
}

function checksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface TcpFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window?: number;
  payload?: Buffer;
}

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export function tcpHeader(f: TcpFields): Buffer {
  return bytes()
    .u16(f.srcPort)
    .u16(f.dstPort)
    .u32(f.seq)
    .u32(f.ack)
    .u8(5 << 4, f.flags)
    .u16(f.window ?? 65535)
    .u16(0)
    .u16(0)
    .raw(f.payload ?? Buffer.alloc(0))
    .build();
}

export function ipPacket(src: string, dst: string, proto: number, payload: Buffer): Buffer {
  if (isIPv6(src)) {
    return bytes()
      .u32(0x60000000)
      .u16(payload.length)
      .u8(proto, 64)
      .raw(ipBytes(src))
      .raw(ipBytes(dst))
      .raw(payload)
      .build();
  }
  const header = bytes()
    .u8(0x45, 0)
    .u16(20 + payload.length)
    .u16(0)
    .u16(0x4000)
    .u8(64, proto)
    .u16(0)
    .raw(ipBytes(src))
    .raw(ipBytes(dst))
    .build();
  header.writeUInt16BE(checksum(header), 10);
  return Buffer.concat([header, payload]);
}

export function linkFrame(kind: LinkKind, ip: Buffer): Buffer {
  const v6 = ip[0]! >> 4 === 6;
  const etherType = v6 ? 0x86dd : 0x0800;
  switch (kind) {
    case 'ethernet':
      return bytes()
        .raw(Buffer.from([2, 0, 0, 0, 0, 2]))
        .raw(Buffer.from([2, 0, 0, 0, 0, 1]))
        .u16(etherType)
        .raw(ip)
        .build();
    case 'sll':
      return bytes()
        .u16(0)
        .u16(1)
        .u16(6)
        .raw(Buffer.from([2, 0, 0, 0, 0, 1, 0, 0]))
        .u16(etherType)
        .raw(ip)
        .build();
    case 'sll2':
      return bytes()
        .u16(etherType)
        .u16(0)
        .u32(2)
        .u16(1)
        .u8(0, 6)
        .raw(Buffer.from([2, 0, 0, 0, 0, 1, 0, 0]))
        .raw(ip)
        .build();
    case 'raw':
      return ip;
    case 'null':
      return bytes()
        .u32(v6 ? 30 : 2, true)
        .raw(ip)
        .build();
    case 'loop':
      return bytes()
        .u32(v6 ? 30 : 2)
        .raw(ip)
        .build();
  }
}

export interface Packet {
  frame: Buffer;
  tsMs: number;
}

export interface FlowOptions {
  client: [string, number];
  server: [string, number];
  link?: LinkKind;
  clientIsn?: number;
  serverIsn?: number;
  /** Largest payload per segment (default 1460). */
  mss?: number;
}

type Who = 'client' | 'server';

/**
 * Simulates one TCP connection and records its packets: sequence and acknowledgment
 * numbers follow what each side sent, so tests can then reorder, duplicate or drop them.
 */
export class TcpFlow {
  readonly packets: Packet[] = [];
  readonly link: LinkKind;
  private readonly ends: Record<Who, { ip: string; port: number; seq: number }>;
  private readonly mss: number;
  ts = 1_700_000_000_000;

  constructor(o: FlowOptions) {
    this.link = o.link ?? 'ethernet';
    this.mss = o.mss ?? 1460;
    this.ends = {
      client: { ip: o.client[0], port: o.client[1], seq: o.clientIsn ?? 1000 },
      server: { ip: o.server[0], port: o.server[1], seq: o.serverIsn ?? 50000 },
    };
  }

  get linkType(): number {
    return LINK_TYPE[this.link];
  }

  /** Builds one segment without advancing anything (for hand-made anomalies). */
  segment(from: Who, flags: number, payload: Buffer, seq?: number, tsMs = this.ts): Packet {
    const a = this.ends[from];
    const b = this.ends[from === 'client' ? 'server' : 'client'];
    const tcp = tcpHeader({
      srcPort: a.port,
      dstPort: b.port,
      seq: seq ?? a.seq,
      ack: b.seq,
      flags,
      payload,
    });
    return { frame: linkFrame(this.link, ipPacket(a.ip, b.ip, 6, tcp)), tsMs };
  }

  private push(p: Packet): Packet {
    this.packets.push(p);
    return p;
  }

  at(tsMs: number): this {
    this.ts = tsMs;
    return this;
  }

  advance(ms: number): this {
    this.ts += ms;
    return this;
  }

  handshake(): this {
    this.push(this.segment('client', SYN, Buffer.alloc(0)));
    this.ends.client.seq = (this.ends.client.seq + 1) >>> 0;
    this.push(this.segment('server', SYN | ACK, Buffer.alloc(0)));
    this.ends.server.seq = (this.ends.server.seq + 1) >>> 0;
    this.push(this.segment('client', ACK, Buffer.alloc(0)));
    return this;
  }

  /** Sends `data` from one side in MSS-sized segments, then an ACK from the other side. */
  send(from: Who, data: Buffer | string, opts: { ack?: boolean } = {}): this {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (let off = 0; off < buf.length; off += this.mss) {
      const part = buf.subarray(off, off + this.mss);
      this.push(this.segment(from, ACK | PSH, part));
      this.ends[from].seq = (this.ends[from].seq + part.length) >>> 0;
    }
    if (opts.ack !== false)
      this.push(this.segment(from === 'client' ? 'server' : 'client', ACK, Buffer.alloc(0)));
    return this;
  }

  fin(from: Who): this {
    this.push(this.segment(from, FIN | ACK, Buffer.alloc(0)));
    this.ends[from].seq = (this.ends[from].seq + 1) >>> 0;
    this.push(this.segment(from === 'client' ? 'server' : 'client', ACK, Buffer.alloc(0)));
    return this;
  }

  close(): this {
    return this.fin('client').fin('server');
  }

  rst(from: Who): this {
    this.push(this.segment(from, RST | ACK, Buffer.alloc(0)));
    return this;
  }
}

/** Classic pcap (µs timestamps, little-endian) of `packets`. */
export function pcapFile(linkType: number, packets: readonly Packet[], snaplen = 262144): Buffer {
  const parts: Buffer[] = [
    bytes()
      .u32(0xa1b2c3d4, true)
      .u16(2, true)
      .u16(4, true)
      .u32(0, true)
      .u32(0, true)
      .u32(snaplen, true)
      .u32(linkType, true)
      .build(),
  ];
  for (const p of packets) {
    const sec = Math.floor(p.tsMs / 1000);
    const usec = Math.round((p.tsMs - sec * 1000) * 1000);
    parts.push(
      bytes()
        .u32(sec, true)
        .u32(usec, true)
        .u32(p.frame.length, true)
        .u32(p.frame.length, true)
        .raw(p.frame)
        .build(),
    );
  }
  return Buffer.concat(parts);
}

/** pcapng with one interface (ns resolution when `nanos`) and enhanced packet blocks. */
export function pcapngFile(linkType: number, packets: readonly Packet[], nanos = false): Buffer {
  const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const block = (type: number, body: Buffer): Buffer => {
    const total = 12 + body.length;
    return bytes().u32(type, true).u32(total, true).raw(body).u32(total, true).build();
  };
  const shb = block(
    0x0a0d0d0a,
    bytes()
      .u32(0x1a2b3c4d, true)
      .u16(1, true)
      .u16(0, true)
      .u32(0xffffffff, true)
      .u32(0xffffffff, true)
      .build(),
  );
  const opts = nanos
    ? bytes().u16(9, true).u16(1, true).u8(9, 0, 0, 0).u16(0, true).u16(0, true).build()
    : Buffer.alloc(0);
  const idb = block(1, bytes().u16(linkType, true).u16(0, true).u32(0, true).raw(opts).build());
  const parts = [shb, idb];
  for (const p of packets) {
    const units = BigInt(Math.round(p.tsMs * (nanos ? 1e6 : 1e3)));
    const body = bytes()
      .u32(0, true)
      .u32(Number(units >> 32n), true)
      .u32(Number(units & 0xffffffffn), true)
      .u32(p.frame.length, true)
      .u32(p.frame.length, true)
      .raw(pad(p.frame))
      .build();
    parts.push(block(6, body));
  }
  return Buffer.concat(parts);
}

export function writePcap(path: string, linkType: number, packets: readonly Packet[]): void {
  writeFileSync(path, pcapFile(linkType, packets));
}
