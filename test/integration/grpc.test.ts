/**
 * gRPC against a real @grpc/grpc-js server and client on loopback (h2c): unary, server-,
 * client- and bidi-streaming calls, error statuses in trailers and Trailers-Only
 * responses, an unimplemented method, a client cancellation, large and compressed
 * messages. tcpdump records the traffic; the replay is compared call by call with what
 * the client saw.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { http2Protocol } from '../../sidecar/protocols/http2/index.ts';
import type { Transaction } from '../../sidecar/protocols/types.ts';
import { freePort, replayCapture, startWireCapture } from '../harness/wirecapture.ts';

const SERVICE = 'axom.test.Echo';
const ser = (s: string): Buffer => Buffer.from(s);
const de = (b: Buffer): string => b.toString();
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/${SERVICE}/${name}`,
  requestStream,
  responseStream,
  requestSerialize: ser,
  requestDeserialize: de,
  responseSerialize: ser,
  responseDeserialize: de,
});
const definition = {
  Unary: method('Unary', false, false),
  ServerStream: method('ServerStream', false, true),
  ClientStream: method('ClientStream', true, false),
  Bidi: method('Bidi', true, true),
} satisfies grpc.ServiceDefinition;
/** The client knows one method more than the server: UNIMPLEMENTED. */
const clientDefinition = { ...definition, Missing: method('Missing', false, false) };

interface Seen {
  method: string;
  statusCode: number;
  statusMessage?: string;
  requestMessages: number;
  responseMessages: number;
  complete: boolean;
}

type AnyCall = grpc.ServerUnaryCall<string, string> & grpc.ServerWritableStream<string, string>;

function startServer(port: number): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(definition, {
    Unary: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      if (call.request.startsWith('fail:'))
        cb({ code: grpc.status.NOT_FOUND, details: `no such thing: ${call.request.slice(5)} ü%` });
      else cb(null, `echo:${call.request.length}`);
    },
    ServerStream: (call: AnyCall) => {
      const [mode, n] = call.request.split(':');
      if (mode === 'endless') {
        const timer = setInterval(() => call.write('tick'), 20);
        call.on('cancelled', () => clearInterval(timer));
        return;
      }
      for (let i = 0; i < Number(n); i++) call.write(`item-${i}`);
      if (mode === 'boom') call.emit('error', { code: grpc.status.INTERNAL, details: 'boom after items' });
      else call.end();
    },
    ClientStream: (call: grpc.ServerReadableStream<string, string>, cb: grpc.sendUnaryData<string>) => {
      let n = 0;
      call.on('data', () => n++);
      call.on('end', () => cb(null, `got:${n}`));
    },
    Bidi: (call: grpc.ServerDuplexStream<string, string>) => {
      call.on('data', (m: string) => call.write(m.toUpperCase()));
      call.on('end', () => call.end());
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(server),
    ),
  );
}

test('grpc: grpc-js calls of every kind, captured and replayed', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'axom-grpc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const server = await startServer(port);
  t.after(() => server.forceShutdown());
  const capture = await startWireCapture(dir, 'grpc', port);
  t.after(() => capture.stop());

  const Client = grpc.makeGenericClientConstructor(clientDefinition, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (...args: unknown[]) => grpc.ClientReadableStream<string> & grpc.ClientDuplexStream<string, string>
  > &
    grpc.Client;
  t.after(() => client.close());
  const seen: Seen[] = [];

  const unary = (name: string, req: string): Promise<void> =>
    new Promise((resolve) => {
      let failed = false;
      const call = client[name]!(req, (err: grpc.ServiceError | null) => {
        failed = err !== null;
      });
      call.on('status', (st: grpc.StatusObject) => {
        seen.push({
          method: name,
          statusCode: st.code,
          ...(st.details ? { statusMessage: st.details } : {}),
          requestMessages: 1,
          responseMessages: failed || st.code !== 0 ? 0 : 1,
          complete: true,
        });
        resolve();
      });
    });
  const collect = (
    name: string,
    call: grpc.ClientReadableStream<string>,
    requestMessages: number,
    complete = true,
  ): Promise<string[]> =>
    new Promise((resolve) => {
      const got: string[] = [];
      call.on('data', (m: string) => got.push(m));
      call.on('error', () => {});
      call.on('status', (st: grpc.StatusObject) => {
        seen.push({
          method: name,
          statusCode: st.code,
          ...(st.details ? { statusMessage: st.details } : {}),
          requestMessages,
          responseMessages: got.length,
          complete,
        });
        resolve(got);
      });
    });

  await unary('Unary', 'hello');
  await unary('Unary', 'x'.repeat(300_000)); // larger than the HTTP/2 flow-control window
  await unary('Unary', 'fail:widget'); // Trailers-Only error with a percent-encoded message
  await unary('Missing', 'anything'); // UNIMPLEMENTED
  assert.deepEqual(await collect('ServerStream', client.ServerStream!('ok:3'), 1), [
    'item-0',
    'item-1',
    'item-2',
  ]);
  await collect('ServerStream', client.ServerStream!('boom:2'), 1); // error in trailers after data
  await new Promise<void>((resolve) => {
    const call = client.ClientStream!((err: grpc.ServiceError | null, res: string) => {
      assert.equal(err, null);
      assert.equal(res, 'got:4');
    });
    call.on('status', (st: grpc.StatusObject) => {
      seen.push({
        method: 'ClientStream',
        statusCode: st.code,
        statusMessage: st.details,
        requestMessages: 4,
        responseMessages: 1,
        complete: true,
      });
      resolve();
    });
    for (let i = 0; i < 4; i++) call.write(`part-${i}`);
    call.end();
  });
  {
    const call = client.Bidi!();
    const done = collect('Bidi', call, 5);
    for (const w of ['a', 'b', 'c', 'd', 'e']) call.write(w);
    call.end();
    assert.deepEqual(await done, ['A', 'B', 'C', 'D', 'E']);
  }
  {
    // Cancelled by the client after the first message: RST_STREAM(CANCEL) → CANCELLED.
    const call = client.ServerStream!('endless:0');
    const done = new Promise<number>((resolve) => {
      let got = 0;
      call.on('data', () => {
        got++;
        if (got === 1) call.cancel();
      });
      call.on('error', () => {});
      call.on('status', (st: grpc.StatusObject) => resolve(st.code));
    });
    assert.equal(await done, grpc.status.CANCELLED);
    // the count of messages that crossed the wire is not the client's to tell: checked loosely below
  }

  // A second channel with gzip message compression (compressed flag set on messages).
  const zipped = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip,
  }) as unknown as typeof client;
  t.after(() => zipped.close());
  await new Promise<void>((resolve, reject) =>
    zipped.Unary!('z'.repeat(10_000), (err: grpc.ServiceError | null) => (err ? reject(err) : resolve())),
  );
  client.close();
  zipped.close();

  const file = await capture.stop();
  const { items, counters } = await replayCapture(file, [http2Protocol]);
  const txs = items.map((i) => i.tx);
  const byConn = new Map<number, Transaction[]>();
  for (const i of items) byConn.set(i.conn.client.port, [...(byConn.get(i.conn.client.port) ?? []), i.tx]);
  const debug = () =>
    JSON.stringify({
      conns: [...byConn.values()].map((l) =>
        l.map((tx) => [tx.grpc?.method, tx.grpc?.statusCode, tx.complete]),
      ),
      errors: [...counters.parseErrorsBy.values()],
      counters: counters.snapshot(),
    });
  assert.equal(byConn.size, 2, `two channels, two connections: ${debug()}`);
  const [main, zip] = [...byConn.values()].sort((a, b) => b.length - a.length);
  const view = (tx: Transaction): Seen => ({
    method: tx.grpc?.method ?? '?',
    statusCode: tx.grpc?.statusCode ?? -1,
    ...(tx.grpc?.statusMessage !== undefined ? { statusMessage: tx.grpc.statusMessage } : {}),
    requestMessages: tx.grpc?.requestMessages ?? -1,
    responseMessages: tx.grpc?.responseMessages ?? -1,
    complete: tx.complete,
  });
  const got = main!.map(view);
  // The cancelled stream: how many ticks crossed the wire before the RST is the network's business.
  const cancelled = got.pop()!;
  assert.deepEqual(
    { ...cancelled, responseMessages: Math.min(cancelled.responseMessages, 1) },
    {
      method: 'ServerStream',
      statusCode: grpc.status.CANCELLED,
      requestMessages: 1,
      responseMessages: 1,
      complete: false,
    },
    debug(),
  );
  assert.deepEqual(got, seen, JSON.stringify({ errors: [...counters.parseErrorsBy.values()] }));
  for (const tx of txs) {
    assert.equal(tx.protocol, 'grpc');
    assert.equal(tx.operation, `/${SERVICE}/${tx.grpc?.method}`);
    assert.equal(tx.grpc?.service, SERVICE);
    assert.equal(tx.status, tx.grpc?.statusCode);
    assert.ok(tx.endMs >= tx.startMs);
  }
  const big = main![1]!;
  assert.ok(big.requestBytes > 300_000, `request bytes ${big.requestBytes}`);
  assert.deepEqual(
    zip!.map(view),
    [
      {
        method: 'Unary',
        statusCode: 0,
        statusMessage: 'OK',
        requestMessages: 1,
        responseMessages: 1,
        complete: true,
      },
    ],
    debug(),
  );
  assert.equal(counters.parseErrorTotal, 0, JSON.stringify([...counters.parseErrorsBy.values()]));
  assert.equal(counters.internalErrors, 0);
});
