/**
 * Declarative flags for the CLI: each flag names its type, default, environment variable
 * and help line once, and `parseFlags` resolves flag > environment > default, checks the
 * value and throws UsageError with a one-line message on anything wrong.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

interface FlagBase {
  description: string;
  env?: string;
  short?: string;
}
export interface StringFlag extends FlagBase {
  type: 'string';
  default?: string;
  choices?: readonly string[];
  validate?: (value: string) => string | undefined;
}
export interface NumberFlag extends FlagBase {
  type: 'number';
  default?: number;
  min?: number;
  max?: number;
  integer?: boolean;
}
export interface BooleanFlag extends FlagBase {
  type: 'boolean';
  default?: boolean;
}
export interface ListFlag extends FlagBase {
  type: 'list';
  default?: readonly string[];
}
export interface DurationFlag extends FlagBase {
  type: 'duration';
  /** Default in milliseconds. */
  default?: number;
}
export type Flag = StringFlag | NumberFlag | BooleanFlag | ListFlag | DurationFlag;
export type FlagSpec = Record<string, Flag>;

type ValueOf<F extends Flag> = F extends StringFlag
  ? string
  : F extends NumberFlag
    ? number
    : F extends BooleanFlag
      ? boolean
      : F extends ListFlag
        ? string[]
        : number;

/** Parsed values: flags with a default are always present, others may be undefined. */
export type FlagValues<S extends FlagSpec> = {
  [K in keyof S]: S[K] extends { default: unknown } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `5s`, `2m`, `1h`; a bare number is seconds. Returns milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
}

function convert(name: string, flag: Flag, raw: string | boolean, origin: string): unknown {
  const where = origin === 'flag' ? `--${name}` : `${origin} (for --${name})`;
  switch (flag.type) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const v = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      throw new UsageError(`${where}: expected true or false, got ${JSON.stringify(raw)}`);
    }
    case 'number': {
      const n = Number(raw);
      if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) {
        throw new UsageError(`${where}: expected a number, got ${JSON.stringify(raw)}`);
      }
      if (flag.integer && !Number.isInteger(n))
        throw new UsageError(`${where}: expected an integer, got ${raw}`);
      if (flag.min !== undefined && n < flag.min)
        throw new UsageError(`${where}: must be at least ${flag.min}, got ${raw}`);
      if (flag.max !== undefined && n > flag.max)
        throw new UsageError(`${where}: must be at most ${flag.max}, got ${raw}`);
      return n;
    }
    case 'duration': {
      const ms = typeof raw === 'string' ? parseDuration(raw) : undefined;
      if (ms === undefined)
        throw new UsageError(
          `${where}: expected a duration such as 500ms, 5s or 2m, got ${JSON.stringify(raw)}`,
        );
      return ms;
    }
    case 'list':
      return String(raw)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'string': {
      const s = String(raw);
      if (flag.choices && !flag.choices.includes(s)) {
        throw new UsageError(`${where}: must be one of ${flag.choices.join(', ')}, got ${JSON.stringify(s)}`);
      }
      const problem = flag.validate?.(s);
      if (problem) throw new UsageError(`${where}: ${problem}`);
      return s;
    }
  }
}

export interface ParsedCommandLine<S extends FlagSpec> {
  values: FlagValues<S>;
  positionals: string[];
  help: boolean;
}

export function parseFlags<S extends FlagSpec>(
  spec: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  allowPositionals = false,
): ParsedCommandLine<S> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, flag] of Object.entries(spec)) {
    options[name] = {
      type: flag.type === 'boolean' ? 'boolean' : 'string',
      ...(flag.short ? { short: flag.short } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals, strict: true, allowNegative: true });
  } catch (err) {
    // node's messages are multi-line and mention internals; keep the first sentence.
    const msg = (err as Error).message.split('\n')[0]?.replace(/\. To specify.*$/, '') ?? 'bad arguments';
    throw new UsageError(msg);
  }
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec)) {
    const fromFlag = parsed.values[name];
    if (fromFlag !== undefined) {
      values[name] = convert(name, flag, fromFlag as string | boolean, 'flag');
    } else if (flag.env && env[flag.env] !== undefined && env[flag.env] !== '') {
      values[name] = convert(name, flag, env[flag.env] as string, `$${flag.env}`);
    } else if (flag.default !== undefined) {
      values[name] = Array.isArray(flag.default) ? [...flag.default] : flag.default;
    }
  }
  return {
    values: values as FlagValues<S>,
    positionals: parsed.positionals,
    help: parsed.values.help === true,
  };
}

/** The help text of one command: usage line, description and one line per flag. */
export function formatHelp(usage: string, description: string, spec: FlagSpec): string {
  const rows = Object.entries(spec).map(([name, flag]) => {
    const left = `  ${flag.short ? `-${flag.short}, ` : ''}--${name}${flag.type === 'boolean' ? '' : ` <${flag.type}>`}`;
    const extras: string[] = [];
    if (flag.default !== undefined && !(Array.isArray(flag.default) && flag.default.length === 0)) {
      const d =
        flag.type === 'duration'
          ? `${flag.default}ms`
          : Array.isArray(flag.default)
            ? flag.default.join(',')
            : String(flag.default);
      extras.push(`default ${d}`);
    }
    if (flag.type === 'string' && flag.choices) extras.push(`one of ${flag.choices.join('|')}`);
    if (flag.env) extras.push(`env ${flag.env}`);
    return { left, right: `${flag.description}${extras.length ? ` (${extras.join('; ')})` : ''}` };
  });
  rows.push({ left: '  -h, --help', right: 'show this help' });
  const width = Math.max(...rows.map((r) => r.left.length)) + 2;
  return `Usage: ${usage}\n\n${description}\n\nOptions:\n${rows.map((r) => r.left.padEnd(width) + r.right).join('\n')}\n`;
}
