/**
 * IPv4/IPv6 and TCP header decoding into one reused object, with no allocation per packet:
 * addresses are kept as 32-bit words (the connection table hashes and compares those) and
 * turned into text only when asked, once per connection. Every read is bounded by the
 * captured length and by the lengths the headers themselves claim: traffic is untrusted.
 */
import { IP_NONE, IP_V4, IP_V6, ipOffset, ipVersion, locateIp } from './link.ts';

const IPPROTO_TCP = 6;
const IPV6_HOP_BY_HOP = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;
const IPV6_DEST_OPTS = 60;
const IPV6_MAX_EXT_HEADERS = 8;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** Why a packet was not a TCP segment we can use. */
export const DECODE_OK = 0;
export const DECODE_NOT_IP = 1;
export const DECODE_NOT_TCP = 2;
export const DECODE_MALFORMED = 3;
export const DECODE_FRAGMENT = 4;

/**
 * One decoded TCP segment. Addresses are four 32-bit words each in network order (IPv4
 * fills word 3 only), as signed int32 so they stay small integers for V8.
 */
export class TcpSegment {
  /** IP_V4 or IP_V6. */
  ipVersion = 0;
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  /** Payload bounds in the frame buffer. */
  payloadStart = 0;
  payloadEnd = 0;

  /** Text form of the source address (allocates: not for the per-packet path). */
  get srcIp(): string {
    return addressString(this.ipVersion, this.src0, this.src1, this.src2, this.src3);
  }

  get dstIp(): string {
    return addressString(this.ipVersion, this.dst0, this.dst1, this.dst2, this.dst3);
  }
}

export function newSegment(): TcpSegment {
  return new TcpSegment();
}

/** A big-endian 32-bit word as a signed int32 (no bounds check: callers check lengths). */
function word(b: Buffer, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/** Decodes `frame` into `out`; returns DECODE_OK or the reason it is not a usable segment. */
export function decodeTcp(linkType: number, frame: Buffer, out: TcpSegment): number {
  const located = locateIp(linkType, frame);
  const version = ipVersion(located);
  if (version === IP_NONE) return DECODE_NOT_IP;
  let off = ipOffset(located);
  let end: number;
  if (version === IP_V4) {
    if (frame.length < off + 20) return DECODE_MALFORMED;
    const vihl = frame[off]!;
    if (vihl >> 4 !== 4) return DECODE_MALFORMED;
    const ihl = (vihl & 0x0f) * 4;
    const total = frame.readUInt16BE(off + 2);
    if (ihl < 20 || total < ihl) return DECODE_MALFORMED;
    // TSO/GRO captures can report 0 or a short total length; trust the capture then.
    end = total === 0 ? frame.length : Math.min(off + total, frame.length);
    if (end < off + ihl) return DECODE_MALFORMED;
    const fragField = frame.readUInt16BE(off + 6);
    if ((fragField & 0x3fff) !== 0) return DECODE_FRAGMENT;
    if (frame[off + 9] !== IPPROTO_TCP) return DECODE_NOT_TCP;
    out.ipVersion = IP_V4;
    out.src0 = 0;
    out.src1 = 0;
    out.src2 = 0;
    out.src3 = word(frame, off + 12);
    out.dst0 = 0;
    out.dst1 = 0;
    out.dst2 = 0;
    out.dst3 = word(frame, off + 16);
    off += ihl;
  } else {
    if (frame.length < off + 40) return DECODE_MALFORMED;
    if (frame[off]! >> 4 !== 6) return DECODE_MALFORMED;
    const payloadLen = frame.readUInt16BE(off + 4);
    end = payloadLen === 0 ? frame.length : Math.min(off + 40 + payloadLen, frame.length);
    let next = frame[off + 6]!;
    out.ipVersion = IP_V6;
    out.src0 = word(frame, off + 8);
    out.src1 = word(frame, off + 12);
    out.src2 = word(frame, off + 16);
    out.src3 = word(frame, off + 20);
    out.dst0 = word(frame, off + 24);
    out.dst1 = word(frame, off + 28);
    out.dst2 = word(frame, off + 32);
    out.dst3 = word(frame, off + 36);
    off += 40;
    for (let i = 0; next !== IPPROTO_TCP; i++) {
      if (i >= IPV6_MAX_EXT_HEADERS) return DECODE_MALFORMED;
      if (next === IPV6_FRAGMENT) return DECODE_FRAGMENT;
      if (next !== IPV6_HOP_BY_HOP && next !== IPV6_ROUTING && next !== IPV6_DEST_OPTS) return DECODE_NOT_TCP;
      if (end < off + 8) return DECODE_MALFORMED;
      next = frame[off]!;
      off += (frame[off + 1]! + 1) * 8;
    }
  }
  if (end < off + 20) return DECODE_MALFORMED;
  const dataOff = (frame[off + 12]! >> 4) * 4;
  if (dataOff < 20 || end < off + dataOff) return DECODE_MALFORMED;
  out.srcPort = (frame[off]! << 8) | frame[off + 1]!;
  out.dstPort = (frame[off + 2]! << 8) | frame[off + 3]!;
  out.seq = word(frame, off + 4) >>> 0;
  out.ack = word(frame, off + 8) >>> 0;
  out.flags = frame[off + 13]!;
  out.payloadStart = off + dataOff;
  out.payloadEnd = end;
  return DECODE_OK;
}

/** Text form of an address given as words (IPv6 in RFC 5952 form, as Node prints it). */
export function addressString(version: number, w0: number, w1: number, w2: number, w3: number): string {
  if (version === IP_V4) return ipv4String(w3);
  const words = [
    w0 >>> 16,
    w0 & 0xffff,
    w1 >>> 16,
    w1 & 0xffff,
    w2 >>> 16,
    w2 & 0xffff,
    w3 >>> 16,
    w3 & 0xffff,
  ];
  // IPv4-mapped addresses print as ::ffff:a.b.c.d.
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${ipv4String(w3)}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    words
      .slice(from, to)
      .map((w) => w.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

function ipv4String(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}
