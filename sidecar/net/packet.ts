/**
 * IPv4/IPv6 and TCP header decoding into one reused object (no allocation per packet but
 * the address strings). Every read is bounded by the captured length and by the lengths
 * the headers themselves claim: traffic is untrusted.
 */
import { IP_NONE, IP_V4, ipOffset, ipVersion, locateIp } from './link.ts';

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

export interface TcpSegment {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** Payload bounds in the frame buffer. */
  payloadStart: number;
  payloadEnd: number;
}

export function newSegment(): TcpSegment {
  return {
    srcIp: '',
    dstIp: '',
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    payloadStart: 0,
    payloadEnd: 0,
  };
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
    out.srcIp = ipv4String(frame, off + 12);
    out.dstIp = ipv4String(frame, off + 16);
    off += ihl;
  } else {
    if (frame.length < off + 40) return DECODE_MALFORMED;
    if (frame[off]! >> 4 !== 6) return DECODE_MALFORMED;
    const payloadLen = frame.readUInt16BE(off + 4);
    end = payloadLen === 0 ? frame.length : Math.min(off + 40 + payloadLen, frame.length);
    let next = frame[off + 6]!;
    out.srcIp = ipv6String(frame, off + 8);
    out.dstIp = ipv6String(frame, off + 24);
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
  out.srcPort = frame.readUInt16BE(off);
  out.dstPort = frame.readUInt16BE(off + 2);
  out.seq = frame.readUInt32BE(off + 4);
  out.ack = frame.readUInt32BE(off + 8);
  out.flags = frame[off + 13]!;
  out.payloadStart = off + dataOff;
  out.payloadEnd = end;
  return DECODE_OK;
}

function ipv4String(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text (lower case, longest zero run compressed), as Node prints addresses. */
export function ipv6String(b: Buffer, o: number): string {
  const words: number[] = new Array(8);
  for (let i = 0; i < 8; i++) words[i] = b.readUInt16BE(o + i * 2);
  // IPv4-mapped addresses print as ::ffff:a.b.c.d.
  if (
    words[0] === 0 &&
    words[1] === 0 &&
    words[2] === 0 &&
    words[3] === 0 &&
    words[4] === 0 &&
    words[5] === 0xffff
  ) {
    return `::ffff:${ipv4String(b, o + 12)}`;
  }
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
