import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type AnchorVerdict,
  BODY_PREFIX,
  BODY_SKIP,
  BODY_STREAM,
  BODY_WHOLE,
  HUNT_WINDOW,
  LengthPrefixedFramer,
} from './framing.ts';

// A toy protocol on the core: `type(1) length(2, BE) body`. Type S bodies are skipped,
// D bodies stream, X headers are malformed; bodies over `maxBody` keep a 4-byte prefix.
// `bare` makes the next message a header-less single byte (like PostgreSQL's SSL answer).
const T_SKIP = 0x53;
const T_STREAM = 0x44;
const T_BAD = 0x58;
const T_BARE = -1;
const HEADER = 3;
const PREFIX = 4;

type Event =
  | { kind: 'msg'; type: number; body: string | undefined; whole: boolean }
  | { kind: 'piece'; type: number; bytes: string; offset: number };
type Sink = (e: Event) => void;

class ToyFramer extends LengthPrefixedFramer<Sink> {
  bare = false;
  readonly drops: { reason: string; bytes: number }[];
  errors = 0;
  /** What the last delivered body was, to tell views from copies. */
  lastBody: Buffer | undefined;
  private type = 0;
  private readonly maxBody: number;

  constructor(maxBody = 1000, huntTail?: number) {
    const drops: { reason: string; bytes: number }[] = [];
    super({
      maxHeader: HEADER,
      onDropped: (reason, bytes) => drops.push({ reason, bytes }),
      ...(huntTail === undefined ? {} : { huntTail }),
    });
    this.drops = drops;
    this.maxBody = maxBody;
  }

  resync(): number {
    return this.drops.filter((d) => d.reason === 'resync').reduce((n, d) => n + d.bytes, 0);
  }

  protected headerSize(): number {
    return this.bare ? 0 : HEADER;
  }

  protected readHeader(buf: Buffer, at: number, size: number): boolean {
    if (size === 0) {
      this.bare = false;
      this.type = T_BARE;
      this.bodyLength = 1;
      this.mode = BODY_WHOLE;
      return true;
    }
    this.type = buf[at]!;
    if (this.type === T_BAD) {
      this.errors++;
      return false;
    }
    this.bodyLength = buf.readUInt16BE(at + 1);
    if (this.type === T_SKIP) this.mode = BODY_SKIP;
    else if (this.type === T_STREAM) this.mode = BODY_STREAM;
    else if (this.bodyLength <= this.maxBody) this.mode = BODY_WHOLE;
    else {
      this.mode = BODY_PREFIX;
      this.prefixBytes = PREFIX;
    }
    return true;
  }

  protected deliver(sink: Sink, body: Buffer | undefined, whole: boolean): void {
    this.lastBody = body;
    sink({ kind: 'msg', type: this.type, body: body?.toString('latin1'), whole });
  }

  protected override piece(sink: Sink, data: Buffer, from: number, to: number, offset: number): void {
    sink({ kind: 'piece', type: this.type, bytes: data.toString('latin1', from, to), offset });
  }

  /** A boundary: type A or B with a sane length, followed by another A or B (or the end). */
  protected anchor(buf: Buffer, at: number): AnchorVerdict {
    const t = buf[at];
    if (t !== 0x41 && t !== 0x42) return 'no';
    if (buf.length - at < HEADER) return 'more';
    const next = at + HEADER + buf.readUInt16BE(at + 1);
    if (next - at > 4000) return 'no';
    if (buf.length <= next) return 'more';
    return buf[next] === 0x41 || buf[next] === 0x42 ? 'yes' : 'no';
  }
}

/** Fluent builder for toy-protocol bytes. */
class Bytes {
  private readonly parts: Buffer[] = [];
  msg(type: number | string, body: string | Buffer = ''): this {
    const b = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
    const h = Buffer.alloc(HEADER);
    h[0] = typeof type === 'string' ? type.charCodeAt(0) : type;
    h.writeUInt16BE(b.length, 1);
    this.parts.push(h, b);
    return this;
  }
  raw(bytes: string | Buffer): this {
    this.parts.push(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}
const bytes = (): Bytes => new Bytes();

/**
 * Feeds `data` cut at `cuts`, each piece a scratch copy overwritten afterwards (a reused
 * capture buffer), so a kept view would show up as garbage. Returns the events.
 */
function feed(f: ToyFramer, data: Buffer, cuts: number[] = []): Event[] {
  const events: Event[] = [];
  const sink: Sink = (e) => events.push(e);
  const points = [0, ...cuts.filter((c) => c > 0 && c < data.length), data.length];
  for (let i = 0; i + 1 < points.length; i++) {
    const scratch = Buffer.from(data.subarray(points[i], points[i + 1]));
    f.push(scratch, sink);
    scratch.fill(0xee);
  }
  return events;
}

/** Adjacent pieces of one streamed body merged, so any segmentation compares equal. */
function merged(events: Event[]): Event[] {
  const out: Event[] = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    if (e.kind === 'piece' && prev?.kind === 'piece' && prev.offset + prev.bytes.length === e.offset) {
      out[out.length - 1] = { ...prev, bytes: prev.bytes + e.bytes };
    } else out.push(e);
  }
  return out;
}

const conversation = (): Buffer =>
  bytes()
    .msg('A', 'hello')
    .msg('S', 'skipped body')
    .msg('B', '')
    .msg('D', 'streamed body')
    .msg('A', 'x'.repeat(900))
    .msg('B', 'last')
    .build();

const expected: Event[] = [
  { kind: 'msg', type: 0x41, body: 'hello', whole: true },
  { kind: 'msg', type: T_SKIP, body: undefined, whole: false },
  { kind: 'msg', type: 0x42, body: '', whole: true },
  { kind: 'piece', type: T_STREAM, bytes: 'streamed body', offset: 0 },
  { kind: 'msg', type: 0x41, body: 'x'.repeat(900), whole: true },
  { kind: 'msg', type: 0x42, body: 'last', whole: true },
];

test('whole messages in one chunk: bodies are views of it, skipped ones undefined', () => {
  const f = new ToyFramer();
  const data = bytes().msg('A', 'hello').msg('S', 'skipped').msg('B', 'bye').build();
  const events: Event[] = [];
  let views = 0;
  f.push(data, (e) => {
    events.push(e);
    if (f.lastBody !== undefined && f.lastBody.buffer === data.buffer) views++;
  });
  assert.deepEqual(events, [
    { kind: 'msg', type: 0x41, body: 'hello', whole: true },
    { kind: 'msg', type: T_SKIP, body: undefined, whole: false },
    { kind: 'msg', type: 0x42, body: 'bye', whole: true },
  ]);
  assert.equal(views, 2);
  assert.equal(f.buffered, 0);
});

test('split at every offset: the same messages, spanning bodies copied', () => {
  const data = conversation();
  assert.deepEqual(merged(feed(new ToyFramer(), data)), expected);
  for (let at = 1; at < data.length; at++) {
    const f = new ToyFramer();
    assert.deepEqual(merged(feed(f, data, [at])), expected, `split at ${at}`);
    assert.equal(f.buffered, 0);
    assert.equal(f.hunting, false);
  }
});

test('split at every pair of offsets of a short conversation', () => {
  const data = bytes().msg('A', 'hi').msg('D', 'abc').msg('S', 'zz').msg('B', 'ok').build();
  const want = merged(feed(new ToyFramer(), data));
  for (let a = 1; a < data.length; a++) {
    for (let b = a + 1; b < data.length; b++) {
      assert.deepEqual(merged(feed(new ToyFramer(), data, [a, b])), want, `split at ${a}, ${b}`);
    }
  }
});

test('a body spanning chunks is buffered once, bounded by its length', () => {
  const f = new ToyFramer();
  const data = bytes().msg('A', 'y'.repeat(500)).build();
  const events: Event[] = [];
  for (let o = 0; o < data.length; o += 100) {
    f.push(Buffer.from(data.subarray(o, o + 100)), (e) => events.push(e));
    assert.ok(f.buffered <= 500, `buffered ${f.buffered}`);
  }
  assert.deepEqual(events, [{ kind: 'msg', type: 0x41, body: 'y'.repeat(500), whole: true }]);
  assert.equal(f.buffered, 0);
});

test('over the limit: a view when whole in the chunk, else only the prefix is copied', () => {
  const body = 'abcdefghij';
  const data = bytes().msg('A', body).build();
  const whole = feed(new ToyFramer(5), data);
  assert.deepEqual(whole, [{ kind: 'msg', type: 0x41, body, whole: true }]);
  const f = new ToyFramer(5);
  const events: Event[] = [];
  for (let o = 0; o < data.length; o++) {
    f.push(Buffer.from(data.subarray(o, o + 1)), (e) => events.push(e));
    assert.ok(f.buffered <= PREFIX, `buffered ${f.buffered}`);
  }
  assert.deepEqual(events, [{ kind: 'msg', type: 0x41, body: 'abcd', whole: false }]);
});

test('skipped and streamed bodies are never buffered', () => {
  const f = new ToyFramer(10);
  const data = bytes().msg('S', 's'.repeat(3000)).msg('D', 'd'.repeat(3000)).msg('A', 'end').build();
  const events: Event[] = [];
  for (let o = 0; o < data.length; o += 7) {
    f.push(Buffer.from(data.subarray(o, o + 7)), (e) => events.push(e));
    assert.ok(f.buffered < HEADER + 3, `buffered ${f.buffered}`);
  }
  assert.deepEqual(merged(events), [
    { kind: 'msg', type: T_SKIP, body: undefined, whole: false },
    { kind: 'piece', type: T_STREAM, bytes: 'd'.repeat(3000), offset: 0 },
    { kind: 'msg', type: 0x41, body: 'end', whole: true },
  ]);
});

test('an empty body is handed on as soon as its header ends, even at the end of a chunk', () => {
  const f = new ToyFramer();
  const got = feed(f, bytes().msg('A').msg('D').build(), [3]);
  assert.deepEqual(got, [
    { kind: 'msg', type: 0x41, body: '', whole: true },
    { kind: 'piece', type: T_STREAM, bytes: '', offset: 0 },
  ]);
});

test('a header-less message, and the header size is fixed when a header starts', () => {
  const f = new ToyFramer();
  const events: Event[] = [];
  const sink: Sink = (e) => {
    events.push(e);
    // The peer answers the next message with a single byte (set from the sink).
    if (e.kind === 'msg' && e.body === 'ask') f.bare = true;
  };
  f.push(bytes().msg('A', 'ask').build(), sink);
  f.push(Buffer.from('N'), sink);
  // Set while a header is half read: applies only after that message.
  const next = bytes().msg('B', 'x').build();
  f.push(next.subarray(0, 2), sink);
  f.bare = true;
  f.push(Buffer.concat([next.subarray(2), Buffer.from('Y')]), sink);
  assert.deepEqual(events, [
    { kind: 'msg', type: 0x41, body: 'ask', whole: true },
    { kind: 'msg', type: T_BARE, body: 'N', whole: true },
    { kind: 'msg', type: 0x42, body: 'x', whole: true },
    { kind: 'msg', type: T_BARE, body: 'Y', whole: true },
  ]);
});

test('a malformed header: the framer hunts and resumes at the next boundary', () => {
  const f = new ToyFramer();
  const data = bytes().msg('A', 'one').msg('X', 'bad').raw('junk').msg('A', 'two').msg('B', 'three').build();
  const events = feed(f, data);
  assert.equal(f.errors, 1);
  assert.deepEqual(events, [
    { kind: 'msg', type: 0x41, body: 'one', whole: true },
    { kind: 'msg', type: 0x41, body: 'two', whole: true },
    { kind: 'msg', type: 0x42, body: 'three', whole: true },
  ]);
  // Everything between the bad header and the boundary is counted.
  assert.equal(f.resync(), 'bad'.length + 'junk'.length);
});

test('lose() from the sink drops the rest of the chunk up to the next boundary', () => {
  const f = new ToyFramer();
  const data = bytes().msg('A', 'gap').raw('zz').msg('B', 'skipped').msg('A', 'after').msg('B', 'x').build();
  const events: Event[] = [];
  f.push(data, (e) => {
    events.push(e);
    if (e.kind === 'msg' && e.body === 'gap') f.lose();
  });
  // After a loss `B skipped` is itself a plausible boundary (B followed by A).
  assert.deepEqual(
    events.map((e) => (e.kind === 'msg' ? e.body : e.bytes)),
    ['gap', 'skipped', 'after', 'x'],
  );
  assert.equal(f.resync(), 2);
});

test('stopped: nothing more is parsed', () => {
  const f = new ToyFramer();
  const events: Event[] = [];
  f.push(bytes().msg('A', 'one').msg('A', 'two').build(), (e) => {
    events.push(e);
    f.stopped = true;
  });
  f.push(bytes().msg('A', 'three').build(), (e) => events.push(e));
  assert.equal(events.length, 1);
});

test('hunting waits for more bytes across chunks and counts what it passes over', () => {
  const f = new ToyFramer();
  f.lose();
  const data = bytes().raw('garbage').msg('A', 'first').msg('B', 'second').build();
  for (let at = 1; at < data.length; at++) {
    const g = new ToyFramer();
    g.lose();
    const events = feed(g, data, [at]);
    assert.deepEqual(
      events.map((e) => (e.kind === 'msg' ? e.body : undefined)),
      ['first', 'second'],
      `split at ${at}`,
    );
    assert.equal(g.resync(), 'garbage'.length, `split at ${at}`);
  }
  // Nothing plausible: everything is dropped and counted, nothing kept.
  const h = new ToyFramer();
  h.lose();
  feed(h, Buffer.from('no boundary here'));
  assert.equal(h.resync(), 16);
  assert.equal(h.buffered, 0);
});

test('the hunt window is bounded: the oldest bytes go, counted, a short tail stays', () => {
  for (const tail of [16, 3]) {
    const f = new ToyFramer(1000, tail);
    f.lose();
    // `A` with a length that never arrives keeps the anchor saying "more".
    const head = bytes().raw('A\x0f\xa0').build();
    let fed = head.length;
    f.push(head, () => assert.fail('no message'));
    const filler = Buffer.alloc(1000, 0x41);
    while (fed <= HUNT_WINDOW + 5000) {
      f.push(filler, () => {});
      fed += filler.length;
      assert.ok(f.buffered <= HUNT_WINDOW, `buffered ${f.buffered}`);
    }
    assert.equal(f.hunting, true);
    assert.ok(f.resync() > 0);
    // Conservation: every byte fed is either dropped (counted) or still held.
    assert.equal(f.resync() + f.buffered, fed);
  }
});

test('fuzz: random bytes and random segmentation never throw and stay bounded', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 2000 }),
      (raw, cuts, hunting, maxBody) => {
        const f = new ToyFramer(maxBody);
        if (hunting) f.lose();
        const data = Buffer.from(raw);
        let pos = 0;
        let c = 0;
        const sink: Sink = () => {};
        while (pos < data.length) {
          const n = cuts[c++ % cuts.length]!;
          f.push(data.subarray(pos, pos + n), sink);
          pos += n;
          assert.ok(f.buffered <= HUNT_WINDOW + Math.max(maxBody, PREFIX) + HEADER);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('fuzz: valid messages read the same however they are segmented', () => {
  const message = fc.record({
    type: fc.constantFrom('A', 'B', 'S', 'D'),
    body: fc.string({ maxLength: 300 }).map((s) => Buffer.from(s, 'latin1')),
  });
  fc.assert(
    fc.property(
      fc.array(message, { maxLength: 15 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 10 }),
      (msgs, sizes) => {
        const b = bytes();
        for (const m of msgs) b.msg(m.type, m.body);
        const data = b.build();
        const cuts: number[] = [];
        for (let at = 0, i = 0; at < data.length; i++) {
          at += sizes[i % sizes.length]!;
          cuts.push(at);
        }
        const f = new ToyFramer(200);
        assert.deepEqual(merged(feed(f, data, cuts)), merged(feed(new ToyFramer(200), data)));
        assert.equal(f.buffered, 0);
        assert.equal(f.drops.length, 0);
      },
    ),
    { numRuns: 300 },
  );
});
