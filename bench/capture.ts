/**
 * Capture pipeline throughput. Offline: a generated pcap of many HTTP/1.1 JSON exchanges
 * (keep-alive connections, chunked and Content-Length bodies) replayed through
 * replayPcapFile, in the same run as tshark dissecting HTTP on the same file (Debian's
 * tshark; installed here if missing) and as a plain read of the file (the ceiling).
 * Live: a capture child on loopback while autocannon drives a local node:http server at
 * rising rates; the highest rate with no transaction missed, with the child's CPU and RSS.
 *
 *   node bench/capture.ts [--transactions 20000] [--connections 200] [--runs 3] [--no-live]
 *                         [--live-buffer-mib 32]
 *   node bench/capture.ts --live-child <port>      (internal: the live capture process)
 *
 * The live ceiling on a busy machine is set by the kernel ring, not by parsing: `cap` opens
 * libpcap in immediate mode (TPACKET_V2, one fixed slot of about the snap length per packet,
 * ~64 KiB on loopback), so 32 MiB holds only ~500 packets while the capture process waits
 * for a CPU. --live-buffer-mib shows the difference.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readCaptureFile } from '../sidecar/capture/index.ts';
import { createPipeline, replayPcapFile, startLiveCapture } from '../sidecar/pipeline/index.ts';
import { type Packet, pcapFile, TcpFlow } from '../test/harness/pcap.ts';

const { values } = parseArgs({
  options: {
    transactions: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
    'no-live': { type: 'boolean', default: false },
    'live-buffer-mib': { type: 'string', default: '32' },
    'live-child': { type: 'string' },
  },
});

// --- live capture child -------------------------------------------------------------------
if (values['live-child']) {
  const port = Number(values['live-child']);
  let count = 0;
  // Only answered exchanges: autocannon cuts its last in-flight requests at the end.
  const pipeline = createPipeline({
    onTransaction: (tx) => {
      if (tx.complete) count++;
    },
  });
  const cap = startLiveCapture(
    {
      device: 'lo',
      filter: `tcp port ${port}`,
      snaplen: 65535,
      bufferSize: Number(values['live-buffer-mib']) << 20,
    },
    pipeline,
  );
  process.stdout.write('ready\n');
  process.stdin.setEncoding('utf8').on('data', (cmd: string) => {
    if (cmd.startsWith('stats')) {
      const s = cap.stats();
      const cpu = process.cpuUsage();
      process.stdout.write(
        `${JSON.stringify({ transactions: count, kernelDrops: s.kernelDrops, cpuMs: (cpu.user + cpu.system) / 1000, rss: process.memoryUsage().rss })}\n`,
      );
    }
  });
  process.stdin.on('end', () => {
    cap.close();
    pipeline.close();
    process.exit(0);
  });
} else {
  await main();
}

function generate(
  path: string,
  transactions: number,
  connections: number,
): { bytes: number; packets: number } {
  const packets: Packet[] = [];
  const perConn = Math.ceil(transactions / connections);
  let made = 0;
  let ts = 1_700_000_000_000;
  for (let c = 0; c < connections && made < transactions; c++) {
    const f = new TcpFlow({ client: [`10.1.${c >> 8}.${c & 255}`, 30000 + c], server: ['10.2.0.1', 80] });
    f.at(ts).handshake();
    for (let i = 0; i < perConn && made < transactions; i++, made++) {
      const body = JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `question ${made} `.repeat(40) }],
        stream: false,
      });
      f.advance(1).send(
        'client',
        `POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-test\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      const answer = JSON.stringify({
        id: `chatcmpl-${made}`,
        object: 'chat.completion',
        choices: [
          { index: 0, message: { role: 'assistant', content: 'answer '.repeat(150) }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 120, completion_tokens: 150, total_tokens: 270 },
      });
      const head = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n';
      f.advance(3).send(
        'server',
        i % 2 === 0
          ? `${head}Content-Length: ${Buffer.byteLength(answer)}\r\n\r\n${answer}`
          : `${head}Transfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(answer).toString(16)}\r\n${answer}\r\n0\r\n\r\n`,
      );
    }
    f.close();
    packets.push(...f.packets);
    ts += 0.5;
  }
  packets.sort((a, b) => a.tsMs - b.tsMs);
  const file = pcapFile(1, packets);
  writeFileSync(path, file);
  return { bytes: file.length, packets: packets.length };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function ensureTshark(): boolean {
  if (spawnSync('which', ['tshark']).status === 0) return true;
  console.log('installing tshark (Debian package) for the comparison ...');
  const r = spawnSync(
    'bash',
    [
      '-c',
      'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null 2>&1 || (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null)',
    ],
    { stdio: 'inherit' },
  );
  return r.status === 0 && spawnSync('which', ['tshark']).status === 0;
}

async function offline(dir: string): Promise<void> {
  const n = Number(values.transactions);
  const path = join(dir, 'http.pcap');
  const gen = generate(path, n, Number(values.connections));
  const mb = gen.bytes / 1e6;
  console.log(`pcap: ${n} HTTP/1.1 transactions, ${gen.packets} packets, ${mb.toFixed(1)} MB`);
  const runs = Number(values.runs);

  const plain: number[] = [];
  const framing: number[] = [];
  const replay: number[] = [];
  let seen = 0;
  for (let r = 0; r < runs; r++) {
    plain.push(
      (
        await timed(async () => {
          for await (const _ of createReadStream(path, { highWaterMark: 4 << 20 })) {
            // bytes only
          }
        })
      ).ms,
    );
    framing.push((await timed(() => readCaptureFile(path, () => {}))).ms);
    let count = 0;
    const pipeline = createPipeline({ onTransaction: () => count++ });
    replay.push((await timed(() => replayPcapFile(path, pipeline))).ms);
    seen = count;
  }
  if (seen !== n) throw new Error(`replay saw ${seen} transactions, expected ${n}`);

  let tsharkMs: number | undefined;
  let tsharkSeen = 0;
  if (ensureTshark()) {
    const t0 = performance.now();
    const out = execFileSync(
      'tshark',
      ['-r', path, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.method'],
      {
        maxBuffer: 1 << 30,
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).toString();
    tsharkMs = performance.now() - t0;
    tsharkSeen = out.split('\n').filter(Boolean).length;
  }

  const row = (name: string, ms: number, tx?: number): string =>
    `${name.padEnd(34)} ${(ms / 1000).toFixed(3).padStart(8)} s ${(mb / (ms / 1000)).toFixed(1).padStart(9)} MB/s${
      tx
        ? `${Math.round(tx / (ms / 1000))
            .toLocaleString('en')
            .padStart(12)} tx/s`
        : ''
    }`;
  const p = median(plain);
  const fr = median(framing);
  const rp = median(replay);
  console.log(`median of ${runs} runs:`);
  console.log(row('plain read (ceiling)', p));
  console.log(row('pcap framing only', fr));
  console.log(row('replayPcapFile (axom pipeline)', rp, n));
  if (tsharkMs !== undefined)
    console.log(row(`tshark -Y http (${tsharkSeen} requests)`, tsharkMs, tsharkSeen));
  console.log(
    `ratios: axom / plain read = ${(p / rp).toFixed(3)}; axom / pcap framing = ${(fr / rp).toFixed(3)}${tsharkMs !== undefined ? `; axom vs tshark = ${(tsharkMs / rp).toFixed(1)}x faster` : ''}`,
  );
}

/** autocannon ships no types; the part used here. */
interface AutocannonResult {
  requests: { total: number };
  errors: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

async function live(): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const body = JSON.stringify({ usage: { prompt_tokens: 10, completion_tokens: 20 }, text: 'x'.repeat(400) });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const bufferMiB = values['live-buffer-mib'];
  console.log(`live: capture on lo, kernel buffer ${bufferMiB} MiB`);
  const child = spawn(
    process.execPath,
    [import.meta.filename, '--live-child', String(port), '--live-buffer-mib', bufferMiB],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) await new Promise((r) => setTimeout(r, 20));
    return lines.shift()!;
  };
  try {
    await nextLine(); // ready
    const stats = async (): Promise<{
      transactions: number;
      kernelDrops: number;
      cpuMs: number;
      rss: number;
    }> => {
      await new Promise((r) => setTimeout(r, 300));
      child.stdin.write('stats\n');
      return JSON.parse(await nextLine());
    };
    let best: { rate: number; cpu: number; rss: number } | undefined;
    let before = await stats();
    for (const rate of [500, 1000, 2000, 4000, 8000]) {
      const seconds = 3;
      const result = await autocannon({
        url: `http://127.0.0.1:${port}/v1/x`,
        connections: 10,
        duration: seconds,
        overallRate: rate,
      });
      const after = await stats();
      const seen = after.transactions - before.transactions;
      const cpu = (after.cpuMs - before.cpuMs) / (seconds * 1000 + 300);
      // autocannon's total leaves out requests in flight when it stops; the capture may see those.
      const ok = seen >= result.requests.total && after.kernelDrops === before.kernelDrops;
      console.log(
        `live ${String(rate).padStart(5)} req/s target: sent ${result.requests.total}, captured ${seen}${ok ? '' : ' (MISSED)'}, kernel drops ${after.kernelDrops - before.kernelDrops}, capture CPU ${(cpu * 100).toFixed(0)}% of a core, RSS ${(after.rss / 2 ** 20).toFixed(0)} MiB`,
      );
      before = after;
      if (!ok) break;
      best = { rate: result.requests.total / seconds, cpu, rss: after.rss };
    }
    if (best)
      console.log(
        `live: highest rate with nothing missed ≈ ${Math.round(best.rate)} req/s (capture CPU ${(best.cpu * 100).toFixed(0)}%, RSS ${(best.rss / 2 ** 20).toFixed(0)} MiB)`,
      );
  } finally {
    child.stdin.end();
    await once(child, 'exit');
    server.close();
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  const dir = mkdtempSync(join(tmpdir(), 'axom-bench-capture-'));
  try {
    await offline(dir);
    if (!values['no-live']) await live();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
