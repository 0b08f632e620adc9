/**
 * HPACK decoding (RFC 7541) for a passive observer: one decoder per direction, fed every
 * header block in order so its dynamic table tracks the sender's encoder.
 *
 * A decoder that joined a connection midway (or lost bytes) does not know the entries the
 * encoder inserted before. It still tracks every insertion it sees: those are the newest
 * entries and are evicted last, so references to them resolve. A reference beyond what it
 * knows yields no headers for that block (`unknown`), never a guess. A size update to 0
 * empties the table, after which the decoder is exact again.
 */
import { HuffmanError, huffmanDecode } from './huffman.ts';

export type HeaderList = Array<[string, string]>;

export class HpackError extends Error {}

/** RFC 7541 Appendix A. */
export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length;
/** RFC 7541 §4.1: an entry's size is its name and value octets plus 32. */
const ENTRY_OVERHEAD = 32;
export const DEFAULT_TABLE_SIZE = 4096;
/** No encoder we observe may grow the table beyond this, whatever SETTINGS say. */
const HARD_MAX_TABLE_SIZE = 1 << 20;

export interface DecodedBlock {
  headers: HeaderList;
  /** True when the block referenced table entries from before we joined: headers withheld. */
  unknown: boolean;
}

export class HpackDecoder {
  /** Newest first. */
  private entries: Array<[string, string]> = [];
  private size = 0;
  private maxSize = DEFAULT_TABLE_SIZE;
  /** SETTINGS_HEADER_TABLE_SIZE the receiving peer announced: the bound for size updates. */
  settingsMax = DEFAULT_TABLE_SIZE;
  /** Entries inserted before we started watching may still be in the table. */
  unknownTail: boolean;
  /** Total header list bytes kept per block; the rest is decoded (for table state) but dropped. */
  private readonly maxListBytes: number;

  constructor(options: { joinedMidway?: boolean; maxListBytes?: number } = {}) {
    this.unknownTail = options.joinedMidway ?? false;
    this.maxListBytes = options.maxListBytes ?? 256 * 1024;
  }

  get tableSize(): number {
    return this.size;
  }
  get tableLength(): number {
    return this.entries.length;
  }

  /** After lost bytes the table may have changed in ways we did not see. */
  lose(): void {
    this.entries = [];
    this.size = 0;
    this.unknownTail = true;
  }

  private evictTo(limit: number): void {
    while (this.size > limit && this.entries.length > 0) {
      const e = this.entries.pop()!;
      this.size -= e[0].length + e[1].length + ENTRY_OVERHEAD;
    }
  }

  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.maxSize) {
      // Larger than the table: it empties the table, unknown entries included.
      this.entries = [];
      this.size = 0;
      this.unknownTail = false;
      return;
    }
    this.evictTo(this.maxSize - entrySize);
    this.entries.unshift([name, value]);
    this.size += entrySize;
  }

  /** Entry `index` (1-based over static + dynamic); undefined when it predates us. */
  private lookup(index: number): readonly [string, string] | undefined {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1];
    const e = this.entries[index - STATIC_COUNT - 1];
    if (e !== undefined) return e;
    if (this.unknownTail) return undefined;
    throw new HpackError(`index ${index} beyond the dynamic table`);
  }

  /** Decodes one complete header block (HEADERS/PUSH_PROMISE plus CONTINUATIONs). */
  decode(block: Buffer): DecodedBlock {
    const headers: HeaderList = [];
    let unknown = false;
    let listBytes = 0;
    let pos = 0;
    const end = block.length;
    const readInt = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let value = block[pos++]! & mask;
      if (value < mask) return value;
      let shift = 0;
      for (;;) {
        if (pos >= end) throw new HpackError('truncated integer');
        const b = block[pos++]!;
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
        if (shift > 28) throw new HpackError('integer too large');
      }
      return value;
    };
    const readString = (): string => {
      if (pos >= end) throw new HpackError('truncated string');
      const huffman = (block[pos]! & 0x80) !== 0;
      const len = readInt(7);
      if (pos + len > end) throw new HpackError('string runs past the block');
      const s = huffman ? huffmanDecode(block, pos, pos + len) : block.toString('latin1', pos, pos + len);
      pos += len;
      return s;
    };
    const add = (name: string, value: string): void => {
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes <= this.maxListBytes) headers.push([name, value]);
    };
    try {
      let sawField = false;
      while (pos < end) {
        const b = block[pos]!;
        if ((b & 0x80) !== 0) {
          // Indexed field.
          const e = this.lookup(readInt(7));
          if (e === undefined) unknown = true;
          else add(e[0], e[1]);
          sawField = true;
        } else if ((b & 0xc0) === 0x40) {
          // Literal with incremental indexing.
          const idx = readInt(6);
          let name: string | undefined;
          if (idx === 0) name = readString();
          else name = this.lookup(idx)?.[0];
          const value = readString();
          if (name === undefined) {
            // An entry we cannot name goes into the table: from here on nothing is known.
            unknown = true;
            this.lose();
          } else {
            add(name, value);
            this.insert(name, value);
          }
          sawField = true;
        } else if ((b & 0xe0) === 0x20) {
          // Dynamic table size update (only before the first field).
          if (sawField) throw new HpackError('table size update after a field');
          const size = readInt(5);
          if (size > Math.max(this.settingsMax, DEFAULT_TABLE_SIZE) && size > HARD_MAX_TABLE_SIZE) {
            throw new HpackError(`table size ${size} too large`);
          }
          this.maxSize = size;
          this.evictTo(size);
          // Shrinking to 0 drops everything, including what predates us.
          if (size === 0) this.unknownTail = false;
        } else {
          // Literal without indexing (0000) or never indexed (0001): 4-bit prefix.
          const idx = readInt(4);
          const name = idx === 0 ? readString() : this.lookup(idx)?.[0];
          const value = readString();
          if (name === undefined) unknown = true;
          else add(name, value);
          sawField = true;
        }
      }
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    }
    return { headers: unknown ? [] : headers, unknown };
  }
}
