import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants, createDeflateRaw, deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { bytes } from '../../../test/harness/pcap.ts';
import { drive, everySplit, recordingContext, type Step, testConn } from '../testing.ts';
import type { Handoff, Transaction } from '../types.ts';
import { websocket } from './index.ts';

/** A frame as a client (masked) or server (unmasked) would send it. */
function frame(
  opcode: number,
  payload: Buffer | string,
  o: { fin?: boolean; mask?: boolean; rsv1?: boolean } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const b = bytes().u8((o.fin === false ? 0 : 0x80) | (o.rsv1 ? 0x40 : 0) | opcode);
  const maskBit = o.mask ? 0x80 : 0;
  if (data.length < 126) b.u8(maskBit | data.length);
  else if (data.length < 65536) b.u8(maskBit | 126).u16(data.length);
  else b.u8(maskBit | 127).u64(BigInt(data.length));
  if (!o.mask) return b.raw(data).build();
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= key[i & 3]!;
  return b.raw(key).raw(masked).build();
}

const close = (code: number, mask: boolean): Buffer =>
  frame(8, bytes().u16(code).ascii('bye').build(), { mask });
const handoff = (ext?: string): Handoff => ({
  startMs: 500,
  http: {
    method: 'GET',
    path: '/realtime',
    host: 'h',
    statusCode: 101,
    ...(ext ? { responseHeaders: { 'sec-websocket-extensions': ext } } : {}),
  },
});

function counts(txs: Transaction[]): unknown {
  const conn = txs.find(
    (t) =>
      t.websocket &&
      (t.websocket.closeCode !== undefined || (t.request === undefined && t.response === undefined)),
  );
  return {
    ws: conn?.websocket,
    req: conn?.requestBytes,
    res: conn?.responseBytes,
    complete: conn?.complete,
    op: conn?.operation,
  };
}

describe('websocket frames', () => {
  const steps: Step[] = [
    {
      side: 'client',
      bytes: Buffer.concat([
        frame(1, 'hello', { mask: true }),
        frame(2, Buffer.alloc(300, 7), { mask: true }),
      ]),
    },
    {
      side: 'server',
      // A fragmented text message with a ping between its fragments, then a 70 kB binary one.
      bytes: Buffer.concat([
        frame(1, 'par', { fin: false }),
        frame(9, 'p'),
        frame(0, 'ts', { fin: false }),
        frame(0, '!'),
        frame(2, Buffer.alloc(70_000, 1)),
      ]),
    },
    { side: 'client', bytes: Buffer.concat([frame(10, 'p', { mask: true }), close(1000, true)]) },
    { side: 'server', bytes: close(1000, false) },
  ];

  it('counts messages and bytes per direction and reads the close code', () => {
    const rec = drive(websocket, steps, () => [], {}, testConn(), handoff());
    assert.equal(rec.transactions.length, 1);
    const tx = rec.transactions[0]!;
    assert.deepEqual(tx.websocket, { messagesSent: 2, messagesReceived: 2, closeCode: 1000 });
    assert.equal(tx.requestBytes, steps[0]!.bytes.length + steps[2]!.bytes.length);
    assert.equal(tx.responseBytes, steps[1]!.bytes.length + steps[3]!.bytes.length);
    assert.equal(tx.complete, true);
    assert.equal(tx.operation, 'WEBSOCKET /realtime');
    assert.equal(tx.startMs, 500);
    assert.equal(tx.http?.path, '/realtime');
    assert.deepEqual(rec.parseErrors, []);
  });

  it('sent and received are seen from the pod', () => {
    const rec = drive(websocket, steps, () => [], {}, testConn({ direction: 'inbound' }), handoff());
    assert.deepEqual(rec.transactions[0]?.websocket, {
      messagesSent: 2,
      messagesReceived: 2,
      closeCode: 1000,
    });
    const one = drive(
      websocket,
      [steps[0]!, steps[3]!],
      () => [],
      {},
      testConn({ direction: 'inbound' }),
      handoff(),
    );
    assert.deepEqual(one.transactions[0]?.websocket, {
      messagesSent: 0,
      messagesReceived: 2,
      closeCode: 1000,
    });
  });

  it('gives the same result however the bytes are split', () => {
    const expected = counts(drive(websocket, steps, () => [], {}, testConn(), handoff()).transactions);
    const small = steps.map((s) =>
      s.bytes.length > 1000 ? { side: s.side, bytes: s.bytes.subarray(0, 40) } : s,
    );
    const expectedSmall = counts(drive(websocket, small, () => [], {}, testConn(), handoff()).transactions);
    for (const [i, off] of everySplit(small)) {
      const rec = drive(websocket, small, (_s, k) => (k === i ? [off] : []), {}, testConn(), handoff());
      assert.deepEqual(counts(rec.transactions), expectedSmall, `step ${i} at ${off}`);
    }
    const tiny = drive(
      websocket,
      steps,
      (s) => Array.from({ length: Math.min(s.bytes.length, 400) }, (_, k) => k),
      {},
      testConn(),
      handoff(),
    );
    assert.deepEqual(counts(tiny.transactions), expected);
  });

  it('emits one transaction per message with the unmasked payload when asked', () => {
    const rec = drive(
      websocket,
      steps,
      () => [],
      { websocketMessages: true, maxBodyBytes: 100 },
      testConn(),
      handoff(),
    );
    const messages = rec.transactions.filter(
      (t) => t.request?.body !== undefined || t.response?.body !== undefined,
    );
    assert.deepEqual(
      messages.map((m) => [
        (m.request ?? m.response)?.body?.length,
        m.websocket?.messagesSent,
        (m.request ?? m.response)?.bodyTruncated,
      ]),
      [
        [5, 1, undefined],
        [100, 1, true],
        [6, 0, undefined],
        [100, 0, true],
      ],
    );
    assert.equal(messages[0]?.request?.body?.toString(), 'hello', 'unmasked');
    assert.equal(messages[2]?.response?.body?.toString(), 'parts!', 'fragments joined');
  });

  it('stops at protocol errors and says so', () => {
    const rec = drive(
      websocket,
      [{ side: 'server', bytes: Buffer.concat([frame(0, 'orphan continuation'), frame(1, 'never seen')]) }],
      () => [],
      {},
      testConn(),
      handoff(),
    );
    assert.deepEqual(rec.parseErrors, [{ protocol: 'websocket', code: 'bad-continuation' }]);
    assert.equal(rec.transactions[0]?.complete, false);
    const ctl = drive(
      websocket,
      [{ side: 'server', bytes: frame(9, Buffer.alloc(126)) }],
      () => [],
      {},
      testConn(),
      handoff(),
    );
    assert.deepEqual(ctl.parseErrors, [{ protocol: 'websocket', code: 'bad-control-frame' }]);
    const rsv = drive(
      websocket,
      [{ side: 'server', bytes: frame(1, 'x', { rsv1: true }) }],
      () => [],
      {},
      testConn(),
      handoff(),
    );
    assert.deepEqual(
      rsv.parseErrors,
      [{ protocol: 'websocket', code: 'reserved-bits' }],
      'RSV1 without permessage-deflate',
    );
  });

  it('a gap stops parsing that direction and marks the connection incomplete', () => {
    const { ctx, rec } = recordingContext({}, testConn(), handoff());
    const s = websocket.create(ctx);
    s.onData('client', frame(1, 'a', { mask: true }), 1);
    s.onGap('server', 10, 2);
    s.onData('server', frame(1, 'b'), 3);
    s.onClose(4);
    assert.equal(rec.transactions[0]?.complete, false);
    assert.equal(rec.transactions[0]?.websocket?.messagesSent, 1);
    assert.equal(rec.transactions[0]?.responseBytes, 10 + 3);
  });
});

describe('websocket permessage-deflate', () => {
  /** Compresses messages the way a peer with context takeover does. */
  function compressor(): (text: string) => Promise<Buffer> {
    const z = createDeflateRaw();
    return (text) =>
      new Promise((resolve) => {
        const out: Buffer[] = [];
        const onData = (d: Buffer): void => {
          out.push(d);
        };
        z.on('data', onData);
        z.write(Buffer.from(text));
        z.flush(constants.Z_SYNC_FLUSH, () => {
          z.off('data', onData);
          const all = Buffer.concat(out);
          resolve(all.subarray(0, all.length - 4));
        });
      });
  }

  it('inflates messages with a shared window (context takeover) in both directions', async () => {
    const clientZ = compressor();
    const serverZ = compressor();
    const texts = [
      '{"type":"response.create","x":"aaaaaaaaaaaaaaaa"}',
      '{"type":"response.create","x":"aaaaaaaaaaaaaaaa"}',
      'third',
    ];
    const client: Buffer[] = [];
    const server: Buffer[] = [];
    for (const t of texts) client.push(frame(1, await clientZ(t), { mask: true, rsv1: true }));
    for (const t of texts) server.push(frame(1, await serverZ(t.toUpperCase()), { rsv1: true }));
    const steps: Step[] = [
      { side: 'client', bytes: Buffer.concat(client) },
      { side: 'server', bytes: Buffer.concat(server) },
      { side: 'client', bytes: close(1001, true) },
    ];
    const rec = drive(
      websocket,
      steps,
      (s) => [7, 19, s.bytes.length - 3],
      { websocketMessages: true },
      testConn(),
      handoff('permessage-deflate; client_max_window_bits'),
    );
    const bodies = rec.transactions
      .map((t) => (t.request ?? t.response)?.body?.toString())
      .filter((b) => b !== undefined);
    assert.deepEqual(bodies, [...texts, ...texts.map((t) => t.toUpperCase())]);
    const conn = rec.transactions.at(-1)!;
    assert.deepEqual(conn.websocket, { messagesSent: 3, messagesReceived: 3, closeCode: 1001 });
    assert.deepEqual(rec.parseErrors, []);
  });

  it('inflates independent messages (no_context_takeover)', () => {
    const msg = deflateRawSync(Buffer.from('hello hello hello'), { finishFlush: constants.Z_SYNC_FLUSH });
    const rec = drive(
      websocket,
      [
        {
          side: 'server',
          bytes: Buffer.concat([
            frame(1, msg.subarray(0, msg.length - 4), { rsv1: true }),
            frame(1, msg.subarray(0, msg.length - 4), { rsv1: true }),
          ]),
        },
      ],
      () => [],
      { websocketMessages: true },
      testConn(),
      handoff('permessage-deflate; server_no_context_takeover'),
    );
    assert.deepEqual(
      rec.transactions.filter((t) => t.response).map((t) => t.response?.body?.toString()),
      ['hello hello hello', 'hello hello hello'],
    );
  });
});

describe('websocket fuzzing', () => {
  it('random bytes in random pieces never throw', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ client: fc.boolean(), data: fc.uint8Array({ maxLength: 200 }) }), {
          maxLength: 20,
        }),
        fc.boolean(),
        (steps, perMessage) => {
          const { ctx } = recordingContext(
            { websocketMessages: perMessage, maxBodyBytes: 64, maxMessageBytes: 1024 },
            testConn(),
            handoff('permessage-deflate'),
          );
          const s = websocket.create(ctx);
          let t = 0;
          for (const st of steps) s.onData(st.client ? 'client' : 'server', Buffer.from(st.data), t++);
          s.onClose(t);
        },
      ),
      { numRuns: 300 },
    );
  });
});
