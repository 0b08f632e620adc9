import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = [
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'silent',
];

/**
 * Paths that could carry a secret if somebody logged a whole object. Logging an API key
 * is a bug; this is the belt to the braces of never passing one to a logger.
 */
const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers.cookie',
  'data["api-key"]',
  '*.data["api-key"]',
];

export interface LogOptions {
  level?: LevelWithSilent;
  /** Where JSON lines go; defaults to stderr so that `--output ndjson` owns stdout. */
  destination?: NodeJS.WritableStream | number;
  name?: string;
}

/** Structured JSON logs (one object a line) with the level as a string and ISO timestamps. */
export function createLogger(options: LogOptions = {}): Logger {
  const destination = options.destination ?? 2;
  const stream =
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination;
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    stream,
  );
}

/** A logger that writes nothing, for tests and library defaults. */
export const silentLogger: Logger = pino({ level: 'silent' });
