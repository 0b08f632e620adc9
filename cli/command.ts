import type { FlagSpec, FlagValues } from '../lib/flags.ts';
import { LOG_LEVELS } from '../lib/log.ts';

/** One subcommand of `axom-observer`. Modules under cli/commands export one as `command`. */
export interface Command<S extends FlagSpec = FlagSpec> {
  name: string;
  /** One line for the top-level help. */
  summary: string;
  usage: string;
  description: string;
  flags: S;
  allowPositionals?: boolean;
  /** Resolves to the process exit code (0 when undefined). */
  run(values: FlagValues<S>, positionals: string[]): Promise<number | undefined>;
}

/** Declared with `satisfies` so the flag types stay literal for FlagValues. */
export function defineCommand<S extends FlagSpec>(command: Command<S>): Command<S> {
  return command;
}

/** Flags every long-running command takes. */
export const commonFlags = {
  'log-level': {
    type: 'string',
    description: 'log level',
    default: 'info',
    env: 'AXOM_LOG_LEVEL',
    choices: LOG_LEVELS,
  },
} as const satisfies FlagSpec;
