/**
 * Offline capture files: classic pcap (µs and ns, either byte order) and pcapng (SHB,
 * IDB, EPB, SPB; per-interface link type and timestamp resolution). Read in large
 * blocks; each packet is handed on as a view of the block (valid until the callback
 * returns), so replay runs as fast as the disk and the pipeline allow.
 */
import { open } from 'node:fs/promises';
import { CaptureError } from '../../lib/errors.ts';

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
const PCAPNG_IDB = 0x00000001;
const PCAPNG_SPB = 0x00000003;
const PCAPNG_EPB = 0x00000006;
const PCAPNG_OPB = 0x00000002;
const IDB_OPT_TSRESOL = 9;
const OPT_END = 0;

const READ_BLOCK = 4 << 20;
/** A record larger than this is corruption, not a packet. */
const MAX_RECORD = 256 << 20;

export type PacketCallback = (linkType: number, frame: Buffer, tsMs: number) => void;

export interface ReadStats {
  packets: number;
  bytes: number;
  format: 'pcap' | 'pcapng';
}

interface Interface {
  linkType: number;
  /** Multiply a raw timestamp by this to get milliseconds. */
  msPerUnit: number;
}

/**
 * Reads `path` and calls `onPacket` for every packet in file order. Yields to the event
 * loop between blocks so a long replay does not starve timers.
 */
export async function readCaptureFile(path: string, onPacket: PacketCallback): Promise<ReadStats> {
  const fh = await open(path, 'r').catch((err: unknown) => {
    throw new CaptureError(`cannot open capture file ${path}: ${(err as Error).message}`);
  });
  try {
    let buf = Buffer.alloc(READ_BLOCK);
    let start = 0;
    let end = 0;
    let eof = false;
    const fill = async (need: number): Promise<boolean> => {
      if (end - start >= need) return true;
      if (eof) return false;
      if (start > 0) {
        buf.copy(buf, 0, start, end);
        end -= start;
        start = 0;
      }
      if (need > buf.length) {
        const bigger = Buffer.alloc(Math.max(need, buf.length * 2));
        buf.copy(bigger, 0, 0, end);
        buf = bigger;
      }
      while (end - start < need && !eof) {
        const { bytesRead } = await fh.read(buf, end, buf.length - end, null);
        if (bytesRead === 0) eof = true;
        end += bytesRead;
      }
      return end - start >= need;
    };

    if (!(await fill(4))) throw new CaptureError(`${path}: not a capture file (too short)`);
    const magicBE = buf.readUInt32BE(start);
    const magicLE = buf.readUInt32LE(start);
    const stats: ReadStats = { packets: 0, bytes: 0, format: 'pcap' };

    if (magicBE === PCAPNG_SHB) {
      stats.format = 'pcapng';
      const ifaces: Interface[] = [];
      let le = true;
      let blocks = 0;
      for (;;) {
        if (end - start < 12 && !(await fill(12))) break;
        // The SHB's byte-order magic decides the order of everything until the next SHB.
        if (buf.readUInt32BE(start) === PCAPNG_SHB) {
          const bom = buf.readUInt32LE(start + 8);
          if (bom === PCAPNG_BYTE_ORDER) le = true;
          else if (buf.readUInt32BE(start + 8) === PCAPNG_BYTE_ORDER) le = false;
          else throw new CaptureError(`${path}: bad pcapng byte-order magic`);
          ifaces.length = 0;
        }
        const type = le ? buf.readUInt32LE(start) : buf.readUInt32BE(start);
        const total = le ? buf.readUInt32LE(start + 4) : buf.readUInt32BE(start + 4);
        if (total < 12 || total % 4 !== 0 || total > MAX_RECORD) {
          throw new CaptureError(`${path}: corrupt pcapng block (length ${total})`);
        }
        if (end - start < total && !(await fill(total))) break; // truncated last block
        const body = start + 8;
        const bodyEnd = start + total - 4;
        const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
        const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
        if (type === PCAPNG_IDB && bodyEnd - body >= 8) {
          const linkType = u16(body);
          let msPerUnit = 1e-3;
          let o = body + 8;
          while (o + 4 <= bodyEnd) {
            const code = u16(o);
            const len = u16(o + 2);
            if (code === OPT_END) break;
            if (code === IDB_OPT_TSRESOL && len >= 1 && o + 4 < bodyEnd) {
              const v = buf[o + 4]!;
              const exp = v & 0x7f;
              const unitsPerSec = v & 0x80 ? 2 ** exp : 10 ** exp;
              msPerUnit = 1000 / unitsPerSec;
            }
            o += 4 + ((len + 3) & ~3);
          }
          ifaces.push({ linkType, msPerUnit });
        } else if ((type === PCAPNG_EPB || type === PCAPNG_OPB) && bodyEnd - body >= 20) {
          const ifId = type === PCAPNG_EPB ? u32(body) : u16(body);
          const iface = ifaces[ifId];
          const tsHigh = u32(body + 4);
          const tsLow = u32(body + 8);
          const capLen = u32(body + 12);
          const dataStart = body + 20;
          if (iface && dataStart + capLen <= bodyEnd) {
            stats.packets++;
            stats.bytes += capLen;
            onPacket(
              iface.linkType,
              buf.subarray(dataStart, dataStart + capLen),
              (tsHigh * 2 ** 32 + tsLow) * iface.msPerUnit,
            );
          }
        } else if (type === PCAPNG_SPB && bodyEnd - body >= 4) {
          const iface = ifaces[0];
          const origLen = u32(body);
          const capLen = Math.min(origLen, bodyEnd - body - 4);
          if (iface) {
            stats.packets++;
            stats.bytes += capLen;
            onPacket(iface.linkType, buf.subarray(body + 4, body + 4 + capLen), 0);
          }
        }
        start += total;
        if (++blocks % 4096 === 0) await yieldNow();
      }
      return stats;
    }

    let le: boolean;
    let nanos: boolean;
    if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) {
      le = true;
      nanos = magicLE === PCAP_MAGIC_NS;
    } else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) {
      le = false;
      nanos = magicBE === PCAP_MAGIC_NS;
    } else {
      throw new CaptureError(`${path}: not a pcap or pcapng file (magic 0x${magicBE.toString(16)})`);
    }
    if (!(await fill(24))) throw new CaptureError(`${path}: truncated pcap header`);
    const linkType = (le ? buf.readUInt32LE(start + 20) : buf.readUInt32BE(start + 20)) & 0x0fffffff;
    const fracToMs = nanos ? 1e-6 : 1e-3;
    start += 24;
    for (;;) {
      // Await only when the block runs out: most packets are handled synchronously.
      if (end - start < 16 && !(await fill(16))) break;
      // In bounds (16 bytes are there): plain byte reads, no per-call checks.
      const sec = le ? u32le(buf, start) : u32be(buf, start);
      const frac = le ? u32le(buf, start + 4) : u32be(buf, start + 4);
      const capLen = le ? u32le(buf, start + 8) : u32be(buf, start + 8);
      if (capLen > MAX_RECORD) throw new CaptureError(`${path}: corrupt pcap record (length ${capLen})`);
      if (end - start < 16 + capLen && !(await fill(16 + capLen))) break; // truncated last packet
      const data = start + 16;
      stats.packets++;
      stats.bytes += capLen;
      onPacket(linkType, buf.subarray(data, data + capLen), sec * 1000 + frac * fracToMs);
      start = data + capLen;
      if (stats.packets % 4096 === 0) await yieldNow();
    }
    return stats;
  } finally {
    await fh.close();
  }
}

function u32le(b: Buffer, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function u32be(b: Buffer, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function yieldNow(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
