/**
 * Network namespaces for tests that need real traffic on a real interface: two namespaces
 * joined by a veth pair with addresses from 10.231.0.0/16, commands and node scripts run
 * inside either one, and everything removed again (also when the test fails, and when
 * the process exits early). Names and subnets are unique per call so test files can run
 * in parallel.
 */
import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { PrerequisiteError } from '../../lib/errors.ts';

export interface NetnsEnd {
  /** Namespace name (for `ip netns exec`). */
  ns: string;
  /** The veth interface inside it. */
  iface: string;
  ip: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface NetnsPair {
  /** The "pod" side. */
  a: NetnsEnd;
  /** The peer side. */
  b: NetnsEnd;
  /** Runs `cmd` inside `end` to completion. */
  run(end: NetnsEnd, cmd: string[], opts?: { timeoutMs?: number; input?: string }): Promise<RunResult>;
  /** Starts `cmd` inside `end`; it is killed by destroy() if still running. */
  spawn(end: NetnsEnd, cmd: string[], opts?: SpawnOptions): ChildProcess;
  /** Starts a Node script (this Node, type stripping) inside `end`. */
  spawnNode(end: NetnsEnd, script: string, args?: string[], opts?: SpawnOptions): ChildProcess;
  destroy(): Promise<void>;
}

let counter = 0;
const live = new Set<string>();
let exitHookInstalled = false;

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function deleteNs(ns: string): void {
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  live.delete(ns);
}

function checkPrerequisites(): void {
  if (process.platform !== 'linux') throw new PrerequisiteError('network namespaces need Linux');
  if (process.getuid?.() !== 0)
    throw new PrerequisiteError('network namespace tests must run as root (ip netns, veth)');
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new PrerequisiteError('the `ip` command (iproute2) is not installed');
  }
}

/** Creates two namespaces joined by a veth pair: a (.1) and b (.2) of a random /30. */
export async function createNetnsPair(): Promise<NetnsPair> {
  checkPrerequisites();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const ns of [...live]) deleteNs(ns);
    });
  }
  const id = `${process.pid % 100000}${(counter++).toString(36)}`;
  const nsA = `axa${id}`;
  const nsB = `axb${id}`;
  const third = randomInt(0, 256);
  const fourth = randomInt(0, 64) * 4;
  const a: NetnsEnd = { ns: nsA, iface: `vxa${id}`, ip: `10.231.${third}.${fourth + 1}` };
  const b: NetnsEnd = { ns: nsB, iface: `vxb${id}`, ip: `10.231.${third}.${fourth + 2}` };
  const children = new Set<ChildProcess>();
  try {
    for (const ns of [nsA, nsB]) {
      ip(['netns', 'add', ns]);
      live.add(ns);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    ip(['link', 'add', a.iface, 'netns', nsA, 'type', 'veth', 'peer', 'name', b.iface, 'netns', nsB]);
    for (const end of [a, b]) {
      ip(['-n', end.ns, 'addr', 'add', `${end.ip}/30`, 'dev', end.iface]);
      ip(['-n', end.ns, 'link', 'set', end.iface, 'up']);
    }
  } catch (err) {
    deleteNs(nsA);
    deleteNs(nsB);
    const msg = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? (err as Error).message;
    throw new PrerequisiteError(`cannot create network namespaces (needs CAP_NET_ADMIN): ${msg}`);
  }

  const spawnIn = (end: NetnsEnd, cmd: string[], opts: SpawnOptions = {}): ChildProcess => {
    const child = spawn('ip', ['netns', 'exec', end.ns, ...cmd], {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...opts,
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };

  return {
    a,
    b,
    spawn: spawnIn,
    spawnNode: (end, script, args = [], opts) => spawnIn(end, [process.execPath, script, ...args], opts),
    run(end, cmd, opts = {}) {
      return new Promise((resolve, reject) => {
        const child = spawnIn(end, cmd);
        let stdout = '';
        let stderr = '';
        child.stdout?.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
        });
        child.stderr?.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
        child.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
        child.stdin?.end(opts.input ?? '');
      });
    },
    async destroy() {
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      deleteNs(nsA);
      deleteNs(nsB);
    },
  };
}

/** Resolves with the first stdout line matching `pattern` (e.g. a "ready" line). */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${pattern} (stderr: ${err.slice(-2000)})`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      for (const line of buf.split('\n')) {
        if (pattern.test(line)) {
          cleanup();
          resolve(line);
          return;
        }
      }
    };
    const onErr = (d: Buffer): void => {
      err += d.toString('utf8');
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`process exited (${code}) before printing ${pattern}: ${err.slice(-2000)}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.on('exit', onExit);
  });
}
