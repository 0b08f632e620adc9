import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeGrpcMessage, GrpcMessageCounter, isGrpcContentType, parseGrpcPath } from './index.ts';

const frame = (body: Buffer, compressed = false) => {
  const h = Buffer.alloc(5);
  h[0] = compressed ? 1 : 0;
  h.writeUInt32BE(body.length, 1);
  return Buffer.concat([h, body]);
};

test('messages counted across any segmentation', () => {
  const msgs = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(70_000, 1), Buffer.from('x')];
  const stream = Buffer.concat(msgs.map((m, i) => frame(m, i === 1)));
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 30 }), (cuts) => {
      const c = new GrpcMessageCounter();
      let pos = 0;
      let i = 0;
      while (pos < stream.length) {
        const n = cuts[i++ % cuts.length]!;
        c.push(stream.subarray(pos, pos + n));
        pos += n;
      }
      assert.equal(c.messages, 4);
      assert.equal(c.compressed, 1);
      assert.equal(c.bytes, 70_006);
      assert.equal(c.partial, false);
    }),
    { numRuns: 200 },
  );
});

test('a bad flag byte stops counting', () => {
  const c = new GrpcMessageCounter();
  c.push(Buffer.from([7, 0, 0, 0, 0]));
  assert.equal(c.malformed, true);
  assert.equal(c.messages, 0);
});

test('content-type, path and message helpers', () => {
  assert.ok(isGrpcContentType('application/grpc'));
  assert.ok(isGrpcContentType('application/grpc+proto'));
  assert.ok(!isGrpcContentType('application/grpc-web'));
  assert.ok(!isGrpcContentType('application/json'));
  assert.deepEqual(parseGrpcPath('/helloworld.Greeter/SayHello'), {
    service: 'helloworld.Greeter',
    method: 'SayHello',
  });
  assert.equal(parseGrpcPath('/a/b/c'), undefined);
  assert.equal(decodeGrpcMessage('not%20found%3A%20x'), 'not found: x');
  assert.equal(decodeGrpcMessage('bad%zz'), 'bad%zz');
});
