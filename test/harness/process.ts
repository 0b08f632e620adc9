/**
 * Long-running helper processes for tests (etcd, kube-apiserver, ...). Each runs in its own
 * process group so that stopping it also stops anything it forked, writes its output to a
 * log file (never a pipe that could fill up and stall it), and can report the tail of that
 * log when it fails.
 */
import { type ChildProcess, type SpawnOptionsWithoutStdio, spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  /** A file that holds the process group id while it runs, for the out-of-process reaper. */
  pidFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Also copy its output to this process's stderr (for debugging a test). */
  echo?: boolean;
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  private exitStatus: number | string | undefined;
  private readonly pidFile: string | undefined;

  constructor(options: ManagedProcessOptions) {
    this.name = options.name;
    this.logFile = options.logFile;
    this.pidFile = options.pidFile;
    const fd = openSync(options.logFile, 'a');
    try {
      this.child = spawn(options.command, options.args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        // detached makes the child a process-group leader, so kill(-pid) reaches its whole tree.
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitStatus = code ?? signal ?? 'unknown';
        resolve(this.exitStatus);
      });
      // A spawn failure (missing binary) emits 'error' and no 'exit'.
      this.child.once('error', (err) => {
        this.exitStatus = `spawn failed: ${err.message}`;
        resolve(this.exitStatus);
      });
    });
    if (options.pidFile && this.child.pid !== undefined)
      writeFileSync(options.pidFile, `${this.child.pid}\n`);
    if (options.echo) this.echoLog();
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  get exitDescription(): string {
    return this.exitStatus === undefined ? 'running' : `exited with ${this.exitStatus}`;
  }

  /** The last `lines` lines of the process's output, for error messages. */
  tail(lines = 30): string {
    return tailFile(this.logFile, lines);
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when the process has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.running) {
      this.signal('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.signal('SIGKILL');
          resolve();
        }, graceMs);
      });
      await Promise.race([this.exited, killed]);
      clearTimeout(timer);
      await this.exited;
    }
    // The leader is gone; make sure nothing it forked outlives it.
    this.signal('SIGKILL');
    this.clearPidFile();
  }

  /** Synchronous last-resort kill, safe to call from a process 'exit' handler. */
  killNow(): void {
    this.signal('SIGKILL');
    this.clearPidFile();
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  private clearPidFile(): void {
    if (!this.pidFile) return;
    try {
      writeFileSync(this.pidFile, '');
    } catch {
      // the directory may already be removed
    }
  }

  private echoLog(): void {
    // Follow the log file rather than piping, so the process never blocks on our reading.
    let offset = 0;
    const timer = setInterval(() => {
      let size = 0;
      try {
        size = statSync(this.logFile).size;
      } catch {
        clearInterval(timer);
        return;
      }
      if (size > offset) {
        createReadStream(this.logFile, { start: offset, end: size - 1 }).pipe(process.stderr, { end: false });
        offset = size;
      }
      if (!this.running) clearInterval(timer);
    }, 250);
    timer.unref();
  }
}

export function tailFile(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a short command to its end with its output collected (kubectl, helm); resolves whatever
 * the exit code, 128 when a signal ended it (the timeout kills with SIGKILL). `input` goes to
 * its stdin, which is closed either way.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptionsWithoutStdio, 'stdio' | 'killSignal'> & { input?: string } = {},
): Promise<CommandResult> {
  const { input, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...spawnOptions,
      stdio: ['pipe', 'pipe', 'pipe'],
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
