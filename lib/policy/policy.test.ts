import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { generatedFiles } from '../../scripts/generate.ts';
import { PolicyInvalidError, RulesFileError } from '../errors.ts';
import { buildCrd, toStructural } from './crd.ts';
import {
  compileCondition,
  compileJsonPath,
  defaultRulesFile,
  parseRulesFile,
  renderRulesFile,
  rulesFileSchema,
  rulesHash,
  serializeRules,
  validatePolicySpec,
} from './index.ts';

const root = join(import.meta.dirname, '..', '..');
const examples = readdirSync(join(root, 'config/examples')).filter((f) => f.endsWith('.yaml'));

function issuesOf(spec: unknown): string[] {
  return validatePolicySpec(structuredClone(spec)).map((i) => `${i.path}: ${i.message}`);
}

describe('policy schema', () => {
  it('has example policies', () => assert.ok(examples.length >= 3));

  for (const file of examples) {
    it(`accepts example ${file}`, () => {
      const doc = yaml.load(readFileSync(join(root, 'config/examples', file), 'utf8')) as { spec: unknown };
      assert.deepEqual(issuesOf(doc.spec), []);
    });
  }

  it('generated CRD and schema files are up to date (npm run generate)', () => {
    for (const [rel, text] of generatedFiles()) {
      assert.equal(readFileSync(join(root, rel), 'utf8'), text, `${rel} is stale`);
    }
  });

  it('the CRD describes rules with the very schema rules.yaml is validated with', () => {
    const crd = buildCrd() as { spec: { versions: Array<{ schema: { openAPIV3Schema: any } }> } };
    const spec = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
    for (const section of ['rules', 'protocols', 'redaction', 'llm', 'system']) {
      assert.deepEqual(
        spec.properties[section],
        toStructural((rulesFileSchema as any).properties[section]),
        section,
      );
    }
  });

  it('rejects unknown fields, wrong types and bad enum values with the field path', () => {
    assert.deepEqual(issuesOf({ bogus: 1 }), ['spec: unknown field "bogus"']);
    assert.deepEqual(issuesOf({ capture: { snapLength: 'big' } }), [
      'spec.capture.snapLength: must be integer',
    ]);
    assert.match(
      issuesOf({ sidecar: { nativeSidecar: 'sometimes' } })[0]!,
      /^spec\.sidecar\.nativeSidecar: must be one of "auto", "always", "never"$/,
    );
  });

  const celCases: Array<[string, unknown, RegExp]> = [
    [
      'selector values',
      { selector: { matchExpressions: [{ key: 'a', operator: 'In' }] } },
      /In and NotIn need values/,
    ],
    [
      'selector exists',
      { selector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } },
      /In and NotIn need values/,
    ],
    [
      'one value source',
      { rules: [{ name: 'r', extract: [{ metric: 'm', jsonPath: '$.a', regex: '(1)' }] }] },
      /at most one of jsonPath, header and regex/,
    ],
    [
      'gauge needs value',
      { rules: [{ name: 'r', extract: [{ metric: 'm', type: 'gauge' }] }] },
      /gauges and histograms need a value/,
    ],
    [
      'buckets only histogram',
      { rules: [{ name: 'r', extract: [{ metric: 'm', jsonPath: '$.a', buckets: [1] }] }] },
      /buckets are only for histograms/,
    ],
    [
      'header source',
      { rules: [{ name: 'r', extract: [{ metric: 'm', header: 'x', source: 'responseBody' }] }] },
      /header needs source/,
    ],
    [
      'jsonPath source',
      { rules: [{ name: 'r', extract: [{ metric: 'm', jsonPath: '$.a', source: 'requestHeaders' }] }] },
      /jsonPath needs source/,
    ],
    ['export url', { export: { enabled: true } }, /export.enabled needs backendUrl/],
    ['secret ref needed', { export: { apiKey: { source: 'Secret' } } }, /source Secret needs secretRef/],
    [
      'secret ref only for Secret',
      { export: { apiKey: { source: 'None', secretRef: { name: 'x' } } } },
      /only for source Secret/,
    ],
  ];
  for (const [name, spec, re] of celCases) {
    it(`evaluates the CRD's CEL rule: ${name}`, () => {
      const issues = issuesOf(spec);
      assert.ok(
        issues.some((i) => re.test(i)),
        issues.join('\n'),
      );
    });
  }

  it('rejects what the schema cannot express: regexes, CEL, JSONPath, duplicates, label sources', () => {
    const issues = issuesOf({
      redaction: { patterns: [{ name: 'p', regex: '(' }] },
      rules: [
        {
          name: 'r',
          match: { path: '[' },
          extract: [
            { metric: 'm', jsonPath: '$..[?(@.x)]' },
            { metric: 'm', regex: 'no group' },
            { metric: 'k', labels: { model: 'llm.nothing' } },
          ],
          alerts: [
            { name: 'a', condition: 'signal.latencyMs >' },
            { name: 'b', condition: 'signal.unknown == 1' },
          ],
        },
        { name: 'r' },
      ],
    });
    const expect = [
      /spec\.rules\[1\]: duplicate entry with name "r"/,
      /spec\.redaction\.patterns\[0\]\.regex: regex does not compile/,
      /spec\.rules\[0\]\.match\.path: regex does not compile/,
      /spec\.rules\[0\]\.extract\[0\]\.jsonPath: malformed JSONPath/,
      /spec\.rules\[0\]\.extract\[1\]\.metric: duplicate metric name "m"/,
      /spec\.rules\[0\]\.extract\[1\]\.regex: regex needs a capture group/,
      /spec\.rules\[0\]\.extract\[2\]\.labels\.model: unknown signal field "llm.nothing"/,
      /spec\.rules\[0\]\.alerts\[0\]\.condition: CEL:/,
      /spec\.rules\[0\]\.alerts\[1\]\.condition: CEL: No such key: unknown/,
    ];
    for (const re of expect)
      assert.ok(
        issues.some((i) => re.test(i)),
        `${re} not in\n${issues.join('\n')}`,
      );
  });
});

describe('rules.yaml', () => {
  const policy = {
    metadata: { name: 'p', namespace: 'ns', generation: 3 },
    spec: { rules: [{ name: 'r', match: { status: ['5xx'] } }], sidecar: { tlsKeyLog: true } },
  } as never;

  it('renders deterministically, so the hash moves only with the content', () => {
    const a = serializeRules(renderRulesFile(policy));
    const b = serializeRules(renderRulesFile(structuredClone(policy)));
    assert.equal(a, b);
    assert.equal(rulesHash(a), rulesHash(b));
    assert.match(rulesHash(a), /^[0-9a-f]{16}$/);
    const changed = serializeRules(
      renderRulesFile({
        ...(policy as object),
        spec: { rules: [{ name: 'r', match: { status: ['4xx'] } }] },
      } as never),
    );
    assert.notEqual(rulesHash(changed), rulesHash(a));
  });

  it('round-trips through parseRulesFile with the key log path and api key file', () => {
    const text = serializeRules(renderRulesFile(policy));
    const parsed = parseRulesFile(text);
    assert.deepEqual(parsed.policy, { name: 'p', namespace: 'ns', generation: 3 });
    assert.equal(parsed.capture.tlsKeyLog?.path, '/var/run/axom/tls/keylog');
    assert.equal(parsed.export.apiKeyFile, '/etc/axom/secret/api-key');
    assert.equal(parsed.rules[0]?.name, 'r');
    assert.ok(!text.includes('apiKey:'), 'the key source never reaches rules.yaml');
  });

  it('defaults to metrics only, no export', () => {
    const d = defaultRulesFile();
    assert.equal(d.export.enabled, false);
    assert.equal(d.llm.enabled, true);
    assert.deepEqual(d.rules, []);
  });

  it('names the file and the field when the file is broken', () => {
    assert.throws(
      () => parseRulesFile('version: [', 'x.yaml'),
      (e: unknown) => e instanceof RulesFileError && /x\.yaml/.test(e.message),
    );
    assert.throws(() => parseRulesFile('', 'x.yaml'), RulesFileError);
    assert.throws(
      () => parseRulesFile('version: 1\nrules:\n  - name: r\n    match: { status: [abc123] }\n'),
      (e: unknown) => e instanceof PolicyInvalidError && /rules\[0\]\.match\.status\[0\]/.test(e.message),
    );
    assert.throws(() => parseRulesFile('version: 2\n'), /version: must be one of 1/);
  });
});

describe('jsonpath', () => {
  const doc = {
    usage: { total_tokens: 7 },
    choices: [{ message: { tool_calls: [{ name: 'a' }, { name: 'b' }] } }],
    'x-y': 1,
  };
  it('selects members, indexes, wildcards and descendants', () => {
    assert.equal(compileJsonPath('$.usage.total_tokens').first(doc), 7);
    assert.equal(compileJsonPath("$['x-y']").first(doc), 1);
    assert.deepEqual(compileJsonPath('$.choices[0].message.tool_calls[*].name').select(doc), ['a', 'b']);
    assert.deepEqual(compileJsonPath('$..name').select(doc), ['a', 'b']);
    assert.equal(compileJsonPath('$.choices[-1].message.tool_calls[1].name').first(doc), 'b');
    assert.equal(compileJsonPath('$.missing.deeper').first(doc), undefined);
  });
  it('refuses filters and scripts', () => {
    assert.throws(() => compileJsonPath('$.a[?(@.b > 1)]'), /filters and scripts are not allowed/);
    assert.throws(() => compileJsonPath('a.b'), /must start with \$/);
  });
});

describe('CEL conditions', () => {
  it('type-check against the signal and evaluate without throwing', () => {
    const c = compileCondition('signal.latencyMs > 100 && signal.http.statusCode >= 500');
    assert.equal(c.test({ latencyMs: 150, http: { statusCode: 503 } }), true);
    assert.equal(c.test({ latencyMs: 50, http: { statusCode: 503 } }), false);
    assert.equal(c.test({}), false, 'a missing field is false, not an exception');
    assert.throws(() => compileCondition('signal.nope'), /No such key/);
    assert.throws(() => compileCondition('signal.latencyMs + 1.0'), /bool/);
  });
});
