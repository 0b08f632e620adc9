#!/usr/bin/env node
/**
 * `axom-observer <command>`: one binary for the operator, the sidecar and the tools around
 * them. Commands load lazily so that `--help` and the sidecar never pay for the
 * Kubernetes client they do not use.
 */
import { pathToFileURL } from 'node:url';
import { AxomError, UsageError } from '../lib/errors.ts';
import { formatHelp, parseFlags } from '../lib/flags.ts';
import type { Command } from './command.ts';

type Loader = () => Promise<{ command: Command }>;

export const COMMANDS: Record<string, { summary: string; load: Loader }> = {
  operator: {
    summary: 'run the ObservationPolicy controller and the admission webhooks',
    load: () => import('../operator/command.ts'),
  },
  sidecar: {
    summary: "capture this pod's traffic and publish signals (runs as the injected sidecar)",
    load: () => import('../sidecar/command.ts'),
  },
  policy: {
    summary: 'validate an ObservationPolicy or rules.yaml, or render a policy to rules.yaml',
    load: () => import('./commands/policy.ts'),
  },
  demo: {
    summary: 'run the local demo: control plane, operator, injection, live capture of a demo AI agent',
    load: () => import('./commands/demo.ts'),
  },
  version: {
    summary: 'print the version',
    load: () => import('./commands/version.ts'),
  },
};

function topLevelHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 4;
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return [
    'Usage: axom-observer <command> [options]',
    '',
    'Observe and meter AI agents on Kubernetes with zero code changes.',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'axom-observer <command> --help' for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topLevelHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') return main(['version']);
  const entry = COMMANDS[name];
  try {
    if (!entry) throw new UsageError(`unknown command ${JSON.stringify(name)}; run 'axom-observer --help'`);
    const { command } = await entry.load();
    const parsed = parseFlags(command.flags, rest, process.env, command.allowPositionals ?? false);
    if (parsed.help) {
      process.stdout.write(formatHelp(command.usage, command.description, command.flags));
      return 0;
    }
    return (await command.run(parsed.values, parsed.positionals)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`axom-observer: ${err.message}\n`);
      return 2;
    }
    const code = err instanceof AxomError ? ` [${err.code}]` : '';
    process.stderr.write(`axom-observer: ${(err as Error).message}${code}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`axom-observer: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
