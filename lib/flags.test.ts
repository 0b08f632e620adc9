import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from './errors.ts';
import { type FlagSpec, formatHelp, parseDuration, parseFlags } from './flags.ts';

const spec = {
  port: {
    type: 'number',
    description: 'port',
    default: 2112,
    min: 1,
    max: 65535,
    integer: true,
    env: 'T_PORT',
  },
  output: { type: 'string', description: 'output', default: 'none', choices: ['none', 'ndjson'] },
  verbose: { type: 'boolean', description: 'more', default: false, env: 'T_VERBOSE' },
  interfaces: { type: 'list', description: 'ifaces', default: ['any'] },
  flush: { type: 'duration', description: 'flush', default: 5000, env: 'T_FLUSH' },
  name: { type: 'string', description: 'name', env: 'T_NAME' },
} as const satisfies FlagSpec;

describe('flags', () => {
  it('resolves flag over environment over default', () => {
    const { values } = parseFlags(spec, ['--port', '9000'], {
      T_PORT: '8000',
      T_VERBOSE: 'true',
      T_FLUSH: '2m',
    });
    assert.equal(values.port, 9000);
    assert.equal(values.verbose, true);
    assert.equal(values.flush, 120_000);
    assert.deepEqual(values.interfaces, ['any']);
    assert.equal(values.name, undefined);
    assert.equal(parseFlags(spec, [], { T_PORT: '8000' }).values.port, 8000);
  });

  it('fails with one clear line naming the flag or variable', () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--port', 'abc'], {}, /^--port: expected a number, got "abc"$/],
      [['--port', '0'], {}, /^--port: must be at least 1, got 0$/],
      [['--port', '1.5'], {}, /^--port: expected an integer/],
      [['--output', 'xml'], {}, /^--output: must be one of none, ndjson, got "xml"$/],
      [[], { T_FLUSH: 'soon' }, /^\$T_FLUSH \(for --flush\): expected a duration/],
      [[], { T_VERBOSE: 'maybe' }, /^\$T_VERBOSE \(for --verbose\): expected true or false/],
      [['--nope'], {}, /Unknown option '--nope'/],
    ];
    for (const [argv, env, re] of cases) {
      assert.throws(
        () => parseFlags(spec, argv, env),
        (e: unknown) => e instanceof UsageError && re.test(e.message) && !e.message.includes('\n'),
      );
    }
  });

  it('parses durations', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('5'), 5000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('5 parsecs'), undefined);
  });

  it('formats help with defaults, choices and environment variables', () => {
    const help = formatHelp('x [options]', 'Does x.', spec);
    assert.match(help, /--port <number> +port \(default 2112; env T_PORT\)/);
    assert.match(help, /--output <string> +output \(default none; one of none\|ndjson\)/);
    assert.match(help, /-h, --help/);
  });
});
