import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../lib/errors.ts';
import { parseFlags } from '../lib/flags.ts';
import { DEFAULT_SIDECAR_RESOURCES } from '../webhook/index.ts';
import { DEFAULT_WEBHOOK_CONFIGURATION_NAME } from './certs/index.ts';
import { command } from './command.ts';
import { admissionSettingsFromFlags, DEFAULT_WEBHOOK_TLS_SECRET } from './webhook.ts';

const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => parseFlags(command.flags, args, env).values;

describe('operator flags: object names', () => {
  it("defaults to today's names, so a plain install keeps working", () => {
    const v = parse([]);
    assert.equal(v['mutating-webhook-name'], DEFAULT_WEBHOOK_CONFIGURATION_NAME);
    assert.equal(v['validating-webhook-name'], DEFAULT_WEBHOOK_CONFIGURATION_NAME);
    assert.equal(v['cert-secret-name'], DEFAULT_WEBHOOK_TLS_SECRET);
    assert.equal(DEFAULT_WEBHOOK_TLS_SECRET, 'axom-observer-webhook-tls');
    assert.equal(v['webhook-service'], 'axom-observer-webhook');
  });

  it('takes them from flags, else from the environment', () => {
    const env = {
      AXOM_MUTATING_WEBHOOK_NAME: 'env-m',
      AXOM_VALIDATING_WEBHOOK_NAME: 'env-v',
      AXOM_CERT_SECRET_NAME: 'env-tls',
    };
    const fromEnv = parse([], env);
    assert.equal(fromEnv['mutating-webhook-name'], 'env-m');
    assert.equal(fromEnv['validating-webhook-name'], 'env-v');
    assert.equal(fromEnv['cert-secret-name'], 'env-tls');
    const fromFlags = parse(
      ['--mutating-webhook-name=r1-axom-observer', '--cert-secret-name=r1-axom-observer-webhook-tls'],
      env,
    );
    assert.equal(fromFlags['mutating-webhook-name'], 'r1-axom-observer');
    assert.equal(fromFlags['cert-secret-name'], 'r1-axom-observer-webhook-tls');
  });

  it('an empty validating name means none; an empty mutating name or Secret is refused', () => {
    assert.equal(parse(['--validating-webhook-name='])['validating-webhook-name'], '');
    assert.throws(() => parse(['--mutating-webhook-name=']), UsageError);
    assert.throws(() => parse(['--cert-secret-name=']), UsageError);
  });

  it('refuses names Kubernetes would refuse, naming the flag', () => {
    for (const bad of ['Axom', 'axom_observer', '-axom', 'a'.repeat(254)]) {
      assert.throws(
        () => parse([`--mutating-webhook-name=${bad}`]),
        (err: Error) => err instanceof UsageError && /--mutating-webhook-name/.test(err.message),
      );
    }
    assert.throws(() => parse(['--webhook-service=Bad Service']), /--webhook-service/);
  });
});

describe('operator flags: central key backends', () => {
  it('default to none (the central key is never copied), else from flag or environment', () => {
    assert.deepEqual(parse([])['central-secret-backends'], []);
    assert.deepEqual(
      parse([], { AXOM_CENTRAL_SECRET_BACKENDS: 'https://a.example/, https://b.example/v1' })[
        'central-secret-backends'
      ],
      ['https://a.example/', 'https://b.example/v1'],
    );
    assert.deepEqual(parse(['--central-secret-backends=https://c.example/'])['central-secret-backends'], [
      'https://c.example/',
    ]);
  });
});

describe('operator flags: sidecar defaults', () => {
  it('default to the webhook defaults, and no log level', () => {
    const v = parse([]);
    const settings = admissionSettingsFromFlags(v);
    assert.deepEqual(settings.sidecarResources, DEFAULT_SIDECAR_RESOURCES);
    assert.equal(settings.sidecarLogLevel, undefined);
    assert.equal(v['sidecar-log-level'], undefined);
  });

  it('pass resources and log level into the admission settings', () => {
    const v = parse([
      '--sidecar-cpu-request=100m',
      '--sidecar-memory-request=128Mi',
      '--sidecar-cpu-limit=1',
      '--sidecar-memory-limit=1Gi',
      '--sidecar-log-level=debug',
      '--operator-namespace=obs',
    ]);
    const s = admissionSettingsFromFlags(v, { major: 1, minor: 31 });
    assert.deepEqual(s.sidecarResources, {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1', memory: '1Gi' },
    });
    assert.equal(s.sidecarLogLevel, 'debug');
    assert.equal(s.namespace, 'obs');
    assert.deepEqual(s.serverVersion, { major: 1, minor: 31 });
  });

  it('read the environment too', () => {
    const v = parse([], { AXOM_SIDECAR_MEMORY_LIMIT: '512Mi', AXOM_SIDECAR_LOG_LEVEL: 'warn' });
    const s = admissionSettingsFromFlags(v);
    assert.equal(s.sidecarResources.limits?.memory, '512Mi');
    assert.equal(s.sidecarLogLevel, 'warn');
  });

  it('leave out an empty quantity, and a section with nothing left', () => {
    const one = admissionSettingsFromFlags(parse(['--sidecar-cpu-limit=']));
    assert.deepEqual(one.sidecarResources, {
      requests: DEFAULT_SIDECAR_RESOURCES.requests,
      limits: { memory: DEFAULT_SIDECAR_RESOURCES.limits?.memory },
    });
    const none = admissionSettingsFromFlags(parse(['--sidecar-cpu-limit=', '--sidecar-memory-limit=']));
    assert.deepEqual(none.sidecarResources, { requests: DEFAULT_SIDECAR_RESOURCES.requests });
  });

  it('refuse a value that is not a quantity, naming the flag', () => {
    for (const bad of ['lots', '1.5.0', '-1', '100 m', '1e3']) {
      assert.throws(
        () => parse([`--sidecar-memory-limit=${bad}`]),
        (err: Error) => err instanceof UsageError && /--sidecar-memory-limit/.test(err.message),
        bad,
      );
    }
    assert.throws(() => parse(['--sidecar-log-level=verbose']), /--sidecar-log-level/);
  });

  it('refuse a limit below its request, which would make every injected pod fail admission', () => {
    assert.throws(
      () => admissionSettingsFromFlags(parse(['--sidecar-cpu-limit=10m'])),
      (err: Error) => err instanceof UsageError && /cpu limit 10m is below its request 50m/.test(err.message),
    );
    assert.throws(
      () => admissionSettingsFromFlags(parse(['--sidecar-memory-request=1Gi'])),
      /memory limit 384Mi is below its request 1Gi/,
    );
    // Equal is fine, and so is a limit without a request.
    admissionSettingsFromFlags(parse(['--sidecar-cpu-limit=50m']));
    admissionSettingsFromFlags(parse(['--sidecar-cpu-request=', '--sidecar-cpu-limit=1m']));
  });

  it('each have an environment variable', () => {
    const help = command.flags;
    for (const [flag, env] of [
      ['mutating-webhook-name', 'AXOM_MUTATING_WEBHOOK_NAME'],
      ['validating-webhook-name', 'AXOM_VALIDATING_WEBHOOK_NAME'],
      ['cert-secret-name', 'AXOM_CERT_SECRET_NAME'],
      ['sidecar-cpu-request', 'AXOM_SIDECAR_CPU_REQUEST'],
      ['sidecar-memory-request', 'AXOM_SIDECAR_MEMORY_REQUEST'],
      ['sidecar-cpu-limit', 'AXOM_SIDECAR_CPU_LIMIT'],
      ['sidecar-memory-limit', 'AXOM_SIDECAR_MEMORY_LIMIT'],
      ['sidecar-log-level', 'AXOM_SIDECAR_LOG_LEVEL'],
    ] as const) {
      assert.equal(help[flag].env, env, flag);
    }
  });
});
