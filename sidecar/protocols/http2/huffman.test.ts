import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CODES, HuffmanError, huffmanDecode, huffmanEncode, LENGTHS } from './huffman.ts';

test('derived canonical codes match RFC 7541 Appendix B spot checks', () => {
  const spot: Array<[number, number]> = [
    [0, 0x1ff8],
    [9, 0xffffea],
    [10, 0x3ffffffc],
    [32, 0x14],
    [48, 0x0],
    [97, 0x3],
    [92, 0x7fff0],
    [127, 0xffffffc],
    [128, 0xfffe6],
    [195, 0x7fff1],
    [208, 0x7fff2],
    [255, 0x3ffffee],
    [256, 0x3fffffff],
  ];
  for (const [sym, code] of spot) assert.equal(CODES[sym], code, `symbol ${sym}`);
  // Kraft equality: a complete prefix code.
  assert.equal(
    LENGTHS.reduce((s, l) => s + 2 ** -l, 0),
    1,
  );
});

test('RFC 7541 C.4 examples', () => {
  const hex = (h: string) => Buffer.from(h.replaceAll(' ', ''), 'hex');
  assert.equal(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'), 0, 12), 'www.example.com');
  const b = hex('a8eb 1064 9cbf');
  assert.equal(huffmanDecode(b, 0, b.length), 'no-cache');
  const c = hex('25a8 49e9 5ba9 7d7f');
  assert.equal(huffmanDecode(c, 0, c.length), 'custom-key');
  const d = hex('6402');
  assert.equal(huffmanDecode(d, 0, d.length), '302');
});

test('bad padding and EOS are errors', () => {
  assert.throws(() => huffmanDecode(Buffer.from([0x00]), 0, 1), HuffmanError); // '0' + 000 padding
  assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4), HuffmanError); // EOS
});

test('encode/decode round trip for any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const s = Buffer.from(bytes).toString('latin1');
      const enc = huffmanEncode(s);
      assert.equal(huffmanDecode(enc, 0, enc.length), s);
    }),
    { numRuns: 500 },
  );
});
