/**
 * HPACK Huffman decoding (RFC 7541 §5.2, Appendix B). The code is canonical: codes of
 * one length are consecutive and ordered by symbol, so the bit length of every symbol is
 * all the table needs; codes are derived from it at load time.
 */

/** Code length in bits of symbols 0..255 and EOS (256), from RFC 7541 Appendix B. */
const CODE_LENGTHS = [
  13,
  23,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  24,
  30,
  28,
  28,
  30,
  28,
  28, // 0-15
  28,
  28,
  28,
  28,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28, // 16-31
  6,
  10,
  10,
  12,
  13,
  6,
  8,
  11,
  10,
  10,
  8,
  11,
  8,
  6,
  6,
  6, // 32-47
  5,
  5,
  5,
  6,
  6,
  6,
  6,
  6,
  6,
  6,
  7,
  8,
  15,
  6,
  12,
  10, // 48-63
  13,
  6,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7, // 64-79
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  8,
  7,
  8,
  13,
  19,
  13,
  14,
  6, // 80-95
  15,
  5,
  6,
  5,
  6,
  5,
  6,
  6,
  6,
  5,
  7,
  7,
  6,
  6,
  6,
  5, // 96-111
  6,
  7,
  6,
  5,
  5,
  6,
  7,
  7,
  7,
  7,
  7,
  15,
  11,
  14,
  13,
  28, // 112-127
  20,
  22,
  20,
  20,
  22,
  22,
  22,
  23,
  22,
  23,
  23,
  23,
  23,
  23,
  24,
  23, // 128-143
  24,
  24,
  22,
  23,
  24,
  23,
  23,
  23,
  23,
  21,
  22,
  23,
  22,
  23,
  23,
  24, // 144-159
  22,
  21,
  20,
  22,
  22,
  23,
  23,
  21,
  23,
  22,
  22,
  24,
  21,
  22,
  23,
  23, // 160-175
  21,
  21,
  22,
  21,
  23,
  22,
  23,
  23,
  20,
  22,
  22,
  22,
  23,
  22,
  22,
  23, // 176-191
  26,
  26,
  20,
  19,
  22,
  23,
  22,
  25,
  26,
  26,
  26,
  27,
  27,
  26,
  24,
  25, // 192-207
  19,
  21,
  26,
  27,
  27,
  26,
  27,
  24,
  21,
  21,
  26,
  26,
  28,
  27,
  27,
  27, // 208-223
  20,
  24,
  20,
  21,
  22,
  21,
  21,
  23,
  22,
  22,
  25,
  25,
  24,
  24,
  26,
  23, // 224-239
  26,
  27,
  26,
  26,
  27,
  27,
  27,
  27,
  27,
  28,
  27,
  27,
  27,
  27,
  27,
  26, // 240-255
  30, // EOS
];

export const EOS = 256;
const MAX_BITS = 30;

/** Per length L: the first code of that length, how many codes, and where they start in SYMBOLS. */
const FIRST_CODE = new Int32Array(MAX_BITS + 1);
const COUNT = new Int32Array(MAX_BITS + 1);
const OFFSET = new Int32Array(MAX_BITS + 1);
/** Symbols ordered by (length, symbol): the canonical order. */
const SYMBOLS = new Uint16Array(CODE_LENGTHS.length);
/** Codes per symbol, for the encoder used by tests and benchmarks. */
export const CODES = new Uint32Array(CODE_LENGTHS.length);
export const LENGTHS: readonly number[] = CODE_LENGTHS;

(() => {
  for (const len of CODE_LENGTHS) COUNT[len]!++;
  let code = 0;
  let offset = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    FIRST_CODE[len] = code;
    OFFSET[len] = offset;
    offset += COUNT[len]!;
    code = (code + COUNT[len]!) * 2;
  }
  const next = FIRST_CODE.slice();
  const fill = OFFSET.slice();
  for (let len = 1; len <= MAX_BITS; len++) {
    for (let sym = 0; sym < CODE_LENGTHS.length; sym++) {
      if (CODE_LENGTHS[sym] !== len) continue;
      SYMBOLS[fill[len]!++] = sym;
      CODES[sym] = next[len]!++;
    }
  }
})();

export class HuffmanError extends Error {}

/**
 * Decodes `buf[start, end)` to a latin1 string. Throws HuffmanError on EOS, on padding
 * longer than 7 bits, or padding that is not the EOS prefix (all ones).
 */
export function huffmanDecode(buf: Buffer, start: number, end: number): string {
  // At most 8/5 symbols per byte (the shortest code is 5 bits).
  const out = Buffer.allocUnsafe(Math.ceil(((end - start) * 8) / 5));
  let n = 0;
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      const idx = code - FIRST_CODE[len]!;
      if (len >= 5 && idx < COUNT[len]!) {
        const sym = SYMBOLS[OFFSET[len]! + idx]!;
        if (sym === EOS) throw new HuffmanError('EOS in string');
        out[n++] = sym;
        code = 0;
        len = 0;
      } else if (len > MAX_BITS) {
        throw new HuffmanError('invalid code');
      }
    }
  }
  if (len > 7) throw new HuffmanError('padding longer than 7 bits');
  if (code !== (1 << len) - 1) throw new HuffmanError('padding is not EOS prefix');
  return out.toString('latin1', 0, n);
}

/** Huffman-encodes a latin1 string (tests and benchmarks build fixtures with it). */
export function huffmanEncode(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    const code = CODES[b]!;
    const len = CODE_LENGTHS[b]!;
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | ((code >>> i) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(out);
}
