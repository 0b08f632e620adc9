/** A small fluent byte builder for TLS fixtures: records, handshake messages, extensions. */
export class Bytes {
  private parts: Buffer[] = [];

  u8(...values: number[]): this {
    this.parts.push(Buffer.from(values));
    return this;
  }
  u16(...values: number[]): this {
    for (const v of values) {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(v);
      this.parts.push(b);
    }
    return this;
  }
  u24(v: number): this {
    const b = Buffer.alloc(3);
    b.writeUIntBE(v, 0, 3);
    this.parts.push(b);
    return this;
  }
  raw(b: Buffer | string): this {
    this.parts.push(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
    return this;
  }
  /** A vector with a 1-, 2- or 3-byte length prefix, built by `fill`. */
  vec(lengthBytes: 1 | 2 | 3, fill: (b: Bytes) => void): this {
    const inner = new Bytes();
    fill(inner);
    const body = inner.build();
    if (lengthBytes === 1) this.u8(body.length);
    else if (lengthBytes === 2) this.u16(body.length);
    else this.u24(body.length);
    return this.raw(body);
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export const bytes = (): Bytes => new Bytes();

export function tlsRecord(type: number, fragment: Buffer, version = 0x0303): Buffer {
  return bytes()
    .u8(type)
    .u16(version)
    .vec(2, (b) => b.raw(fragment))
    .build();
}

export function handshake(type: number, body: Buffer): Buffer {
  return bytes()
    .u8(type)
    .vec(3, (b) => b.raw(body))
    .build();
}

export interface HelloOptions {
  random?: Buffer;
  sni?: string;
  alpn?: string[];
  versions?: number[];
  suites?: number[];
}

export function clientHello(o: HelloOptions = {}): Buffer {
  const body = bytes()
    .u16(0x0303)
    .raw(o.random ?? Buffer.alloc(32, 0xaa))
    .vec(1, () => {})
    .vec(2, (b) => b.u16(...(o.suites ?? [0x1301, 0xc02f])))
    .vec(1, (b) => b.u8(0))
    .vec(2, (ext) => {
      if (o.sni !== undefined) {
        const sni = o.sni;
        ext.u16(0).vec(2, (d) => d.vec(2, (l) => l.u8(0).vec(2, (n) => n.raw(sni))));
      }
      if (o.alpn !== undefined) {
        const alpn = o.alpn;
        ext.u16(16).vec(2, (d) =>
          d.vec(2, (l) => {
            for (const p of alpn) l.vec(1, (n) => n.raw(p));
          }),
        );
      }
      if (o.versions !== undefined) {
        const versions = o.versions;
        ext.u16(43).vec(2, (d) => d.vec(1, (l) => l.u16(...versions)));
      }
    })
    .build();
  return handshake(1, body);
}

export function serverHello(
  o: { random?: Buffer; suite?: number; version?: number; alpn?: string } = {},
): Buffer {
  const body = bytes()
    .u16(0x0303)
    .raw(o.random ?? Buffer.alloc(32, 0xbb))
    .vec(1, () => {})
    .u16(o.suite ?? 0xc02f)
    .u8(0)
    .vec(2, (ext) => {
      if (o.version !== undefined) ext.u16(43).vec(2, (d) => d.u16(o.version!));
      if (o.alpn !== undefined) {
        const alpn = o.alpn;
        ext.u16(16).vec(2, (d) => d.vec(2, (l) => l.vec(1, (n) => n.raw(alpn))));
      }
    })
    .build();
  return handshake(2, body);
}
