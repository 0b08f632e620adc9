/**
 * Protocol tests against real servers: record loopback traffic with tcpdump while a real
 * client talks to a real server, then replay the recording through the sidecar pipeline
 * and collect what it emitted. Also: free loopback ports, and waiting for a server.
 */
import { execFileSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrerequisiteError } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import { createPipeline, type PipelineCounters, replayPcapFile } from '../../sidecar/pipeline/index.ts';
import type { ConnectionInfo, ProtocolDefinition, Transaction } from '../../sidecar/protocols/types.ts';
import { ManagedProcess } from './process.ts';

/** Throws PrerequisiteError naming the first missing command. */
export function requireCommands(commands: readonly string[], hint: string): void {
  for (const c of commands) {
    try {
      execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' });
    } catch {
      throw new PrerequisiteError(`${c} is not installed or not on PATH (${hint})`);
    }
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (bounded wait). */
export async function waitForPort(
  port: number,
  timeoutMs: number,
  what: string,
  proc?: ManagedProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc !== undefined && !proc.running)
      throw new Error(`${what} ${proc.exitDescription}:\n${proc.tail()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(
    `${what} did not listen on port ${port} within ${timeoutMs} ms${proc ? `:\n${proc.tail()}` : ''}`,
  );
}

export interface WireCapture {
  readonly file: string;
  /**
   * Waits for trailing packets, stops tcpdump and returns the file. Throws when the kernel
   * dropped packets: a lossy recording cannot judge a parser.
   */
  stop(): Promise<string>;
}

/** tcpdump on loopback for `tcp port <port>`; resolves once it is listening. */
export async function startWireCapture(dir: string, name: string, port: number): Promise<WireCapture> {
  requireCommands(['tcpdump'], 'apt-get install tcpdump');
  const file = join(dir, `${name}.pcap`);
  const proc = new ManagedProcess({
    name: 'tcpdump',
    command: 'tcpdump',
    // --immediate-mode/-U: deliver and write each packet as it comes (TPACKET_V3 would hold
    // them in blocks that a stop can lose); -Z root: keep the rights to write into our temp dir.
    // -B: a 64 MiB kernel buffer, so bursts of 64 KiB loopback segments are not dropped.
    args: [
      '-i',
      'lo',
      '--immediate-mode',
      '-B',
      '65536',
      '-n',
      '-U',
      '-s',
      '0',
      '-Z',
      'root',
      '-w',
      file,
      `tcp port ${port}`,
    ],
    logFile: join(dir, `${name}.tcpdump.log`),
  });
  const deadline = Date.now() + 10_000;
  while (!proc.tail(5).includes('listening on')) {
    if (!proc.running || Date.now() > deadline) {
      await proc.stop();
      throw new PrerequisiteError(`tcpdump did not start capturing on lo (needs root): ${proc.tail()}`);
    }
    await sleep(50);
  }
  return {
    file,
    async stop() {
      if (!proc.running) return file;
      await sleep(300);
      await proc.stop();
      const drops = /(\d+) packets? dropped by kernel/.exec(proc.tail(5));
      if (drops !== null && drops[1] !== '0') {
        throw new Error(`tcpdump dropped ${drops[1]} packets (machine overloaded?): ${proc.tail(5)}`);
      }
      return file;
    },
  };
}

export interface Replayed {
  tx: Transaction;
  conn: ConnectionInfo;
}

export interface Replay {
  items: Replayed[];
  counters: PipelineCounters;
}

/** Replays a capture through a pipeline with only `protocols` enabled. */
export async function replayCapture(file: string, protocols: readonly ProtocolDefinition[]): Promise<Replay> {
  const out: Replayed[] = [];
  const pipeline = createPipeline({
    protocols,
    log: silentLogger,
    limits: { maxBodyBytes: 1 << 20 },
    onTransaction: (tx, conn) => out.push({ tx, conn }),
  });
  await replayPcapFile(file, pipeline);
  pipeline.close();
  return { items: out, counters: pipeline.counters };
}

/** What a database test compares per transaction: the signal's fields that the client decided. */
export interface DbExpect {
  operation?: string;
  status: string;
  statement?: string;
  table?: string;
  rows?: number;
  errorMessage?: string;
}

export function dbView(tx: Transaction): DbExpect {
  const v: DbExpect = { status: String(tx.status) };
  if (tx.operation !== undefined) v.operation = tx.operation;
  if (tx.db?.statement !== undefined) v.statement = tx.db.statement;
  if (tx.db?.table !== undefined) v.table = tx.db.table;
  if (tx.db?.rows !== undefined) v.rows = tx.db.rows;
  if (tx.db?.errorMessage !== undefined) v.errorMessage = tx.db.errorMessage;
  return v;
}
