/**
 * Helpers for the TLS and LLM integration tests: a self-signed certificate for loopback,
 * tcpdump on `lo` writing a pcap, child processes that write real key logs (Node's
 * --tls-keylog, Python's SSLKEYLOGFILE), and replay of the capture through the real
 * pipeline with the TLS protocol, the key log tailer and the LLM/MCP enrichers.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { PrerequisiteError } from '../../lib/errors.ts';
import { replayPcapFile } from '../../sidecar/capture/index.ts';
import { createPipeline } from '../../sidecar/pipeline/pipeline.ts';
import { http1 } from '../../sidecar/protocols/http1/index.ts';
import { http2Protocol } from '../../sidecar/protocols/http2/index.ts';
import type { ConnectionInfo, Transaction } from '../../sidecar/protocols/types.ts';
import { websocket } from '../../sidecar/protocols/websocket/index.ts';
import { createTlsProtocol, KeyLogStore, KeyLogTailer, type TlsStats } from '../../sidecar/tls/index.ts';
import { type CertFiles, opensslSelfSignedCert } from '../harness/pki.ts';

export function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export function requireTool(cmd: string): string {
  const path = which(cmd);
  if (path === undefined) throw new PrerequisiteError(`${cmd} is required for this test and is not on PATH`);
  return path;
}

/** Listens on a free loopback port and returns it; the server is closed after the test. */
export async function listen(t: TestContext, server: NetServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** A temp dir removed after the test, even on failure. */
export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export type Cert = CertFiles;

/** A self-signed ECDSA certificate for localhost / 127.0.0.1. */
export function selfSignedCert(dir: string): Cert {
  return opensslSelfSignedCert(dir, { altNames: ['DNS:localhost', 'IP:127.0.0.1'] });
}

/** Resolves once tcpdump says on stderr that it is listening (so no packet is missed). */
export function tcpdumpStarted(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new PrerequisiteError(`tcpdump did not start: ${err}`)), 10_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new PrerequisiteError(`tcpdump exited with ${code}: ${err}`));
    });
  });
}

export interface Capture {
  pcap: string;
  stop(): Promise<string>;
}

/** tcpdump on loopback for one TCP port, packet-buffered so nothing is lost on stop. */
export async function startCapture(t: TestContext, dir: string, port: number): Promise<Capture> {
  const tcpdump = requireTool('tcpdump');
  const pcap = join(dir, `capture-${port}.pcap`);
  const child = spawn(
    tcpdump,
    ['-i', 'lo', '-U', '--immediate-mode', '-n', '-s', '0', '-Z', 'root', '-w', pcap, `tcp port ${port}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  t.after(async () => {
    if (!exited) child.kill('SIGKILL');
    await exit;
  });
  await tcpdumpStarted(child);
  return {
    pcap,
    async stop() {
      // Let the last packets of the connection reach the capture buffer.
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGINT');
      await exit;
      return pcap;
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a child process to completion (bounded), killing it if the test ends first. */
export function run(
  t: TestContext,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<RunResult> {
  const child: ChildProcess = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let done = false;
  t.after(() => {
    if (!done) child.kill('SIGKILL');
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      done = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a Node ESM script text with the given flags (e.g. --tls-keylog=...). */
export function runNodeScript(
  t: TestContext,
  dir: string,
  name: string,
  source: string,
  flags: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<RunResult> {
  const file = join(dir, name);
  writeFileSync(file, source);
  return run(t, process.execPath, [...flags, file], { ...process.env, ...env });
}

export interface Observed {
  tx: Transaction;
  /** conn.tls as it was when the transaction was emitted. */
  tls: ConnectionInfo['tls'];
  conn: ConnectionInfo;
}

/** Replays a capture through the real pipeline with TLS decryption from `keylogPath`. */
export async function replayWithKeys(
  pcap: string,
  keylogPath: string | undefined,
  keyWaitMs = 200,
): Promise<{ observed: Observed[]; tls: TlsStats; store: KeyLogStore }> {
  const store = new KeyLogStore();
  const tailer =
    keylogPath !== undefined && existsSync(keylogPath) ? new KeyLogTailer(keylogPath, store) : undefined;
  tailer?.start();
  const tlsProto = createTlsProtocol({
    keyLog: keylogPath === undefined ? undefined : store,
    innerProtocols: [http1, http2Protocol, websocket],
    keyWaitMs,
  });
  const observed: Observed[] = [];
  const pipeline = createPipeline({
    protocols: [http1, http2Protocol, tlsProto],
    onTransaction: (tx, conn) =>
      observed.push({ tx, tls: conn.tls === undefined ? undefined : { ...conn.tls }, conn }),
  });
  try {
    await replayPcapFile(pcap, pipeline);
    // Connections still waiting for keys finish when their bounded wait ends.
    await new Promise((r) => setTimeout(r, keyWaitMs + 50));
  } finally {
    pipeline.close();
    tailer?.stop();
  }
  return { observed, tls: tlsProto.stats, store };
}
