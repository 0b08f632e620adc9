/**
 * Link layers: find where the IP packet starts in a captured frame. Link types are the
 * pcap LINKTYPE_* numbers (https://www.tcpdump.org/linktypes.html).
 */

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;
/** Some old captures use the BSD DLT numbers for raw IP. */
const DLT_RAW_BSD_A = 12;
const DLT_RAW_BSD_B = 14;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;

/** BSD loopback address families: AF_INET everywhere, AF_INET6 differs per OS. */
const AF_INET = 2;
const AF_INET6_VALUES = new Set([10, 24, 28, 30]);

export const IP_NONE = 0;
export const IP_V4 = 4;
export const IP_V6 = 6;

/**
 * Offset of the IP header in `buf` and its version (IP_V4/IP_V6), or IP_NONE for frames
 * that carry something else. Returned packed as `offset * 8 + version` to avoid an
 * allocation per packet; unpack with ipOffset/ipVersion.
 */
export function locateIp(linkType: number, buf: Buffer): number {
  const len = buf.length;
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      if (len < 14) return IP_NONE;
      let off = 12;
      let type = buf.readUInt16BE(off);
      // Up to two VLAN tags.
      for (let i = 0; i < 2 && (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ); i++) {
        off += 4;
        if (len < off + 2) return IP_NONE;
        type = buf.readUInt16BE(off);
      }
      return fromEtherType(type, off + 2);
    }
    case LINKTYPE_LINUX_SLL:
      // 16-byte header; protocol (ethertype) in the last two bytes.
      if (len < 16) return IP_NONE;
      return fromEtherType(buf.readUInt16BE(14), 16);
    case LINKTYPE_LINUX_SLL2:
      // 20-byte header; protocol first.
      if (len < 20) return IP_NONE;
      return fromEtherType(buf.readUInt16BE(0), 20);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (len < 4) return IP_NONE;
      // NULL is host byte order of the capturing machine; LOOP is network order. Accept both.
      const le = buf.readUInt32LE(0);
      const family = le > 0xffff ? buf.readUInt32BE(0) : le;
      if (family === AF_INET) return 4 * 8 + IP_V4;
      if (AF_INET6_VALUES.has(family)) return 4 * 8 + IP_V6;
      return IP_NONE;
    }
    case LINKTYPE_RAW:
    case DLT_RAW_BSD_A:
    case DLT_RAW_BSD_B:
      return fromVersionNibble(buf, 0);
    case LINKTYPE_IPV4:
      return IP_V4;
    case LINKTYPE_IPV6:
      return IP_V6;
    default:
      return IP_NONE;
  }
}

export function ipOffset(located: number): number {
  return located >>> 3;
}

export function ipVersion(located: number): number {
  return located & 7;
}

function fromEtherType(type: number, off: number): number {
  if (type === ETHERTYPE_IPV4) return off * 8 + IP_V4;
  if (type === ETHERTYPE_IPV6) return off * 8 + IP_V6;
  return IP_NONE;
}

function fromVersionNibble(buf: Buffer, off: number): number {
  if (buf.length <= off) return IP_NONE;
  const v = buf[off]! >> 4;
  if (v === 4) return off * 8 + IP_V4;
  if (v === 6) return off * 8 + IP_V6;
  return IP_NONE;
}

/** Link types this module understands, for error messages and capture checks. */
export const SUPPORTED_LINK_TYPES: readonly number[] = [
  LINKTYPE_NULL,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL2,
  DLT_RAW_BSD_A,
  DLT_RAW_BSD_B,
];
