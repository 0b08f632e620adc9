/**
 * TLS decryption throughput: how fast the sidecar turns captured TLS records into plaintext,
 * against the ceiling of a plain node:crypto AEAD loop over the same bytes (one decipher
 * per record, as the record layer must). Three levels: the bare AEAD loop, RecordDecryptor
 * (nonce, AAD, inner content type), and a whole TLS session (record framing over chunks
 * the size of TCP segments, key lookup done, plaintext handed to an inner parser).
 *
 *   node bench/tls.ts [--time 1000] [--record 16384]
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { trafficKeys13, xorNonce } from '../sidecar/tls/crypto.ts';
import { RecordDecryptor } from '../sidecar/tls/decrypt.ts';
import { KeyLogStore } from '../sidecar/tls/keylog.ts';
import { createTlsProtocol } from '../sidecar/tls/session.ts';
import { type AeadAlgorithm, cipherSuite } from '../sidecar/tls/suites.ts';
import { recordingProtocol, testContext } from '../sidecar/tls/testdata/context.ts';
import * as rfc from '../sidecar/tls/testdata/rfc8448.ts';

const { values } = parseArgs({
  options: { time: { type: 'string', default: '1000' }, record: { type: 'string', default: '16384' } },
});
const TIME = Number(values.time);
const RECORD = Number(values.record);
const BATCH = 64;

function seal13(aead: AeadAlgorithm, keys: { key: Buffer; iv: Buffer }, seq: bigint, plain: Buffer): Buffer {
  const inner = Buffer.concat([plain, Buffer.of(23)]);
  const header = Buffer.from([23, 3, 3, 0, 0]);
  header.writeUInt16BE(inner.length + 16, 3);
  const c = createCipheriv(aead as 'aes-128-gcm', keys.key, xorNonce(keys.iv, seq), { authTagLength: 16 });
  c.setAAD(header);
  return Buffer.concat([header, c.update(inner), c.final(), c.getAuthTag()]);
}

const asRecord = (b: Buffer) => ({
  type: b[0]!,
  version: b.readUInt16BE(1),
  header: b.subarray(0, 5),
  fragment: b.subarray(5),
});

const bench = new Bench({ time: TIME, warmupTime: 200 });
const plain = randomBytes(RECORD);
const mib = (BATCH * RECORD) / (1 << 20);

for (const id of [0x1301, 0x1302, 0x1303]) {
  const suite = cipherSuite(id)!;
  const keys = trafficKeys13(suite, randomBytes(suite.hash === 'sha384' ? 48 : 32));
  const records = Array.from({ length: BATCH }, (_, i) => seal13(suite.aead, keys, BigInt(i), plain));
  bench.add(`ceiling: node:crypto ${suite.aead} open x${BATCH}`, () => {
    for (let i = 0; i < BATCH; i++) {
      const r = records[i]!;
      const d = createDecipheriv(suite.aead as 'aes-128-gcm', keys.key, xorNonce(keys.iv, BigInt(i)), {
        authTagLength: 16,
      });
      d.setAAD(r.subarray(0, 5));
      d.setAuthTag(r.subarray(r.length - 16));
      d.update(r.subarray(5, r.length - 16));
      d.final();
    }
  });
  bench.add(`RecordDecryptor ${suite.name} x${BATCH}`, () => {
    const dec = new RecordDecryptor(suite, keys);
    for (const r of records) if (dec.open(asRecord(r)) === undefined) throw new Error('did not open');
  });
}

// A whole session: the RFC 8448 handshake, then BATCH application records from the server
// delivered in 1448-byte chunks (one TCP segment each), decrypted and handed to a parser.
{
  const suite = cipherSuite(0x1301)!;
  const keys = trafficKeys13(suite, rfc.SECRETS.serverApplicationTraffic);
  // seq 0 is the RFC's NewSessionTicket record.
  const app = Buffer.concat(
    Array.from({ length: BATCH }, (_, i) => seal13(suite.aead, keys, BigInt(i + 1), plain)),
  );
  const head = Buffer.concat([rfc.RECORDS.serverHello, rfc.RECORDS.serverFlight, rfc.RECORDS.serverTicket]);
  const stream = Buffer.concat([head, app]);
  const chunks: Buffer[] = [];
  for (let o = 0; o < stream.length; o += 1448) chunks.push(stream.subarray(o, o + 1448));
  const store = new KeyLogStore();
  bench.add(`TLS session (RFC 8448 keys, AES-128-GCM) x${BATCH} records in 1448-byte chunks`, () => {
    for (const line of rfc.keyLogLines()) store.ingestLine(line);
    const inner = recordingProtocol();
    inner.create = () => ({ onData() {}, onGap() {}, onClose() {} });
    const t = testContext();
    const session = createTlsProtocol({ keyLog: store, innerProtocols: [inner] }).create(t.ctx);
    session.onData('client', rfc.RECORDS.clientHello, 0);
    for (const c of chunks) session.onData('server', c, 1);
    session.onClose(2);
  });
}

await bench.run();
const rows = bench.tasks.map((task) => {
  const r = task.result as unknown as {
    throughput?: { mean: number };
    hz?: number;
    latency?: { mean: number };
  };
  const hz = r.throughput?.mean ?? r.hz ?? 0;
  return { task: task.name, 'MiB/s': Math.round(hz * mib), 'records/s': Math.round(hz * BATCH) };
});
console.table(rows);
console.log(`record size ${RECORD} bytes, ${BATCH} records per iteration, node ${process.version}`);
