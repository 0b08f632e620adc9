import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HpackEncoder } from './fixtures.ts';
import { HpackDecoder, HpackError } from './hpack.ts';

const hex = (h: string) => Buffer.from(h.replaceAll(' ', ''), 'hex');

test('RFC 7541 C.4: requests with Huffman and a shared dynamic table', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')).headers, [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ]);
  assert.equal(d.tableSize, 57);
  assert.deepEqual(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf')).headers, [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ]);
  assert.equal(d.tableSize, 110);
  assert.deepEqual(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')).headers, [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ]);
  assert.equal(d.tableSize, 164);
});

test('RFC 7541 C.5: eviction with a 256-byte table', () => {
  const d = new HpackDecoder();
  d.decode(Buffer.from([0x3f, 0xe1, 0x01])); // size update to 256
  const r1 = d.decode(
    hex(
      '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    ),
  );
  assert.deepEqual(
    r1.headers.map(([k]) => k),
    [':status', 'cache-control', 'date', 'location'],
  );
  assert.equal(d.tableSize, 222);
  const r2 = d.decode(hex('4803 3330 37c1 c0bf'));
  assert.deepEqual(r2.headers[0], [':status', '307']);
  assert.deepEqual(r2.headers[3], ['location', 'https://www.example.com']);
  assert.equal(d.tableSize, 222);
});

test('joined midway: references to unseen entries withhold the headers, new ones resolve', () => {
  const d = new HpackDecoder({ joinedMidway: true });
  // index 62: an entry inserted before we joined
  const r = d.decode(Buffer.from([0x82, 0xbe]));
  assert.equal(r.unknown, true);
  assert.deepEqual(r.headers, []);
  const enc = new HpackEncoder();
  const block = enc.encode([['x-new', 'v']]);
  assert.deepEqual(d.decode(block), { headers: [['x-new', 'v']], unknown: false });
  // now 62 is the entry we saw inserted
  assert.deepEqual(d.decode(Buffer.from([0xbe])), { headers: [['x-new', 'v']], unknown: false });
  // but 63 is still from before
  assert.equal(d.decode(Buffer.from([0xbf])).unknown, true);
  // a size update to 0 makes the table exact again
  d.decode(Buffer.from([0x20]));
  assert.equal(d.unknownTail, false);
  assert.throws(() => d.decode(Buffer.from([0xbe])), HpackError);
});

test('malformed blocks are HpackErrors', () => {
  const d = new HpackDecoder();
  assert.throws(() => d.decode(Buffer.from([0x80])), HpackError); // index 0
  assert.throws(() => d.decode(Buffer.from([0x40, 0x05, 0x61])), HpackError); // string past end
  assert.throws(() => d.decode(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), HpackError);
});

test('encoder/decoder agree on random header lists (dynamic table kept in step)', () => {
  const header = fc.tuple(
    fc.constantFrom(':path', 'content-type', 'x-a', 'x-b', 'authorization', 'accept'),
    fc.string({ maxLength: 40 }).map((s) => Buffer.from(s, 'utf8').toString('latin1')),
  );
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.array(header, { maxLength: 8 }),
          fc.boolean(),
          fc.constantFrom('incremental', 'none', 'never'),
        ),
        {
          maxLength: 12,
        },
      ),
      (blocks) => {
        const enc = new HpackEncoder();
        const dec = new HpackDecoder();
        for (const [headers, huffman, indexing] of blocks) {
          const b = enc.encode(headers as Array<[string, string]>, { huffman, indexing: indexing as 'none' });
          assert.deepEqual(dec.decode(b), { headers, unknown: false });
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('fuzz: random blocks never throw anything but HpackError', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }),
      fc.boolean(),
      (blocks, midway) => {
        const d = new HpackDecoder({ joinedMidway: midway });
        for (const b of blocks) {
          try {
            d.decode(Buffer.from(b));
          } catch (err) {
            assert.ok(err instanceof HpackError, String(err));
            d.lose();
          }
          assert.ok(d.tableSize <= 1 << 20);
        }
      },
    ),
    { numRuns: 500 },
  );
});
