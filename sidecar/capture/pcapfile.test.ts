import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CaptureError } from '../../lib/errors.ts';
import { bytes, type LinkKind, type Packet, pcapFile, pcapngFile, TcpFlow } from '../../test/harness/pcap.ts';
import { createPipeline } from '../pipeline/pipeline.ts';
import type { Transaction } from '../protocols/types.ts';
import { readCaptureFile, replayPcapFile } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'axom-pcapfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (content: Buffer): string => {
  const path = join(dir, `f${n++}`);
  writeFileSync(path, content);
  return path;
};

function httpFlow(link: LinkKind, v6 = false): TcpFlow {
  const f = new TcpFlow({
    client: [v6 ? 'fd00::1' : '10.0.0.1', 40000],
    server: [v6 ? 'fd00::2' : '10.0.0.2', 80],
    link,
  });
  f.at(1_700_000_000_123.456).handshake().send('client', 'GET /hello HTTP/1.1\r\nHost: h\r\n\r\n');
  f.advance(25).send('server', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nworld').close();
  return f;
}

/** Big-endian classic pcap with nanosecond timestamps. */
function pcapBigEndianNanos(linkType: number, packets: readonly Packet[]): Buffer {
  const parts = [bytes().u32(0xa1b23c4d).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(linkType).build()];
  for (const p of packets) {
    const sec = Math.floor(p.tsMs / 1000);
    const ns = Math.round((p.tsMs - sec * 1000) * 1e6);
    parts.push(bytes().u32(sec).u32(ns).u32(p.frame.length).u32(p.frame.length).raw(p.frame).build());
  }
  return Buffer.concat(parts);
}

async function replay(path: string): Promise<Transaction[]> {
  const txs: Transaction[] = [];
  const pipeline = createPipeline({ onTransaction: (tx) => txs.push(tx) });
  await replayPcapFile(path, pipeline);
  return txs;
}

describe('capture files', () => {
  for (const link of ['ethernet', 'sll', 'sll2', 'raw', 'null', 'loop'] as LinkKind[]) {
    for (const v6 of [false, true]) {
      it(`replays pcap and pcapng on ${link} over IPv${v6 ? 6 : 4} with the file's timestamps`, async () => {
        const f = httpFlow(link, v6);
        for (const content of [
          pcapFile(f.linkType, f.packets),
          pcapngFile(f.linkType, f.packets),
          pcapngFile(f.linkType, f.packets, true),
          pcapBigEndianNanos(f.linkType, f.packets),
        ]) {
          const txs = await replay(file(content));
          assert.equal(txs.length, 1);
          assert.equal(txs[0]?.operation, 'GET /hello');
          assert.equal(txs[0]?.status, 200);
          assert.ok(Math.abs(txs[0]!.startMs - 1_700_000_000_123.456) < 0.01, String(txs[0]!.startMs));
          assert.ok(Math.abs(txs[0]!.endMs - txs[0]!.startMs - 25) < 0.01);
        }
      });
    }
  }

  it('stops cleanly at a truncated last record', async () => {
    const f = httpFlow('ethernet');
    const whole = pcapFile(f.linkType, f.packets);
    const stats = await readCaptureFile(file(whole.subarray(0, whole.length - 10)), () => {});
    assert.equal(stats.packets, f.packets.length - 1);
  });

  it('reads files larger than its read block', async () => {
    const f = new TcpFlow({ client: ['10.0.0.1', 1], server: ['10.0.0.2', 80], mss: 60000 }).handshake();
    for (let i = 0; i < 90; i++) f.send('client', Buffer.alloc(60000, 0x61), { ack: false });
    const stats = await readCaptureFile(file(pcapFile(f.linkType, f.packets)), () => {});
    assert.equal(stats.packets, f.packets.length);
  });

  it('names the file and the problem when it is not a capture', async () => {
    await assert.rejects(
      readCaptureFile(file(Buffer.from('hello world, not pcap')), () => {}),
      (err: unknown) => {
        assert.ok(err instanceof CaptureError);
        assert.match(err.message, /not a pcap or pcapng file/);
        return true;
      },
    );
    await assert.rejects(
      readCaptureFile(join(dir, 'missing'), () => {}),
      CaptureError,
    );
  });
});
