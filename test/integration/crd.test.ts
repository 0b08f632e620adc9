/**
 * The ObservationPolicy CRD against a real kube-apiserver: it installs and is Established,
 * every example is accepted, and invalid policies are refused with a message that names
 * the field. The negative cases are derived by walking the CRD's own schema, so a field,
 * enum, bound or required key added later is covered without touching this file; every
 * CEL rule must have a case in CEL_CASES (a test fails naming any rule that has none).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadAll } from 'js-yaml';
import {
  API_GROUP,
  API_GROUP_VERSION,
  API_VERSION,
  CRD_NAME,
  POLICY_KIND,
  POLICY_PLURAL,
} from '../../lib/names.ts';
import { REPO_ROOT } from '../harness/binaries.ts';
import {
  type ApiResponse,
  type ControlPlane,
  startControlPlane,
  statusMessage,
} from '../harness/controlplane.ts';
import { kubectl, runKubectl } from '../harness/kube.ts';

// AXOM_CRD_FILE lets a developer try a candidate CRD without replacing the generated one.
const CRD_FILE = process.env.AXOM_CRD_FILE ?? join(REPO_ROOT, 'crds/observationpolicy.yaml');
const EXAMPLES_DIR = join(REPO_ROOT, 'config/examples');
const NS = 'crd-test';
const COLLECTION = `/apis/${API_GROUP_VERSION}/namespaces/${NS}/${POLICY_PLURAL}`;

// --- the schema, walked -------------------------------------------------------------------------

interface Validation {
  rule: string;
  message?: string;
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  enum?: unknown[];
  required?: string[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
  anyOf?: SchemaNode[];
  'x-kubernetes-validations'?: Validation[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** One step from a node to a child: a property, an array element, or a map value. */
type Step = { prop: string } | 'item' | 'value';

interface Site {
  steps: Step[];
  /** The field path as the API server writes it: `spec.rules[0].extract[0].type`. */
  field: string;
  node: SchemaNode;
}

function* walk(node: SchemaNode, steps: Step[] = [], field = 'spec'): Generator<Site> {
  yield { steps, field, node };
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    yield* walk(child, [...steps, { prop: name }], `${field}.${name}`);
  }
  if (node.items) yield* walk(node.items, [...steps, 'item'], `${field}[0]`);
  if (typeof node.additionalProperties === 'object') {
    yield* walk(node.additionalProperties, [...steps, 'value'], `${field}.k`);
  }
}

/** A spec holding `value` at the end of `steps`, and nothing else. */
function specWith(steps: readonly Step[], value: unknown): unknown {
  const [first, ...rest] = steps;
  if (first === undefined) return value;
  const inner = specWith(rest, value);
  if (first === 'item') return [inner];
  if (first === 'value') return { k: inner };
  return { [first.prop]: inner };
}

const crdDocs = loadAll(readFileSync(CRD_FILE, 'utf8')) as Array<{
  kind: string;
  metadata: { name: string };
  spec: {
    versions: Array<{
      name: string;
      additionalPrinterColumns?: Array<{ name: string; jsonPath: string; priority?: number }>;
      schema: { openAPIV3Schema: SchemaNode };
    }>;
  };
}>;
const crd = crdDocs.find((d) => d?.kind === 'CustomResourceDefinition');
assert.ok(crd, `${CRD_FILE} holds a CustomResourceDefinition`);
const version = crd.spec.versions.find((v) => v.name === API_VERSION);
assert.ok(version, `the CRD serves ${API_VERSION}`);
const specSchema = version.schema.openAPIV3Schema.properties?.spec;
assert.ok(specSchema, 'the CRD schema has spec');
const sites = [...walk(specSchema)];

// --- CEL rules: each needs a case; `bad` must break only that rule, `good` must pass -------------

type Spec = Record<string, unknown>;
const extract = (e: Record<string, unknown>): Spec => ({
  rules: [{ name: 'r', match: { protocols: ['http'] }, extract: [e] }],
});
const m = 'value_metric';

const CEL_CASES: Record<string, { bad: Spec[]; good: Spec[] }> = {
  'In and NotIn need values; Exists and DoesNotExist take none': {
    bad: [
      { selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } },
      { selector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: [] }] } },
      { selector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] } },
    ],
    good: [
      {
        selector: {
          matchExpressions: [
            { key: 'app', operator: 'In', values: ['x'] },
            { key: 'tier', operator: 'DoesNotExist' },
          ],
        },
      },
    ],
  },
  'set at most one of jsonPath, header and regex': {
    bad: [
      extract({ metric: m, type: 'gauge', jsonPath: '$.a', regex: '(\\d+)' }),
      extract({ metric: m, type: 'gauge', header: 'x-n', regex: '(\\d+)', source: 'responseHeaders' }),
    ],
    good: [extract({ metric: m, type: 'gauge', regex: '(\\d+)' })],
  },
  'gauges and histograms need a value: set jsonPath, header or regex': {
    bad: [extract({ metric: m, type: 'gauge' }), extract({ metric: m, type: 'histogram', buckets: [1] })],
    good: [extract({ metric: m, type: 'counter' }), extract({ metric: m, type: 'gauge', jsonPath: '$.n' })],
  },
  'buckets are only for histograms': {
    bad: [
      extract({ metric: m, type: 'gauge', jsonPath: '$.n', buckets: [1, 2] }),
      extract({ metric: m, buckets: [1, 2] }), // type defaults to counter
    ],
    good: [extract({ metric: m, type: 'histogram', jsonPath: '$.n', buckets: [1, 2] })],
  },
  'header needs source requestHeaders or responseHeaders': {
    bad: [extract({ metric: m, type: 'gauge', header: 'x-n', source: 'responseBody' })],
    good: [extract({ metric: m, type: 'gauge', header: 'x-n', source: 'requestHeaders' })],
  },
  'jsonPath needs source requestBody or responseBody': {
    bad: [extract({ metric: m, type: 'gauge', jsonPath: '$.n', source: 'responseHeaders' })],
    good: [extract({ metric: m, type: 'gauge', jsonPath: '$.n', source: 'requestBody' })],
  },
  'apiKey.source Secret needs secretRef': {
    bad: [{ export: { apiKey: { source: 'Secret' } } }],
    good: [{ export: { apiKey: { source: 'Secret', secretRef: { name: 'backend-key' } } } }],
  },
  'apiKey.secretRef is only for source Secret': {
    bad: [
      { export: { apiKey: { source: 'Central', secretRef: { name: 'backend-key' } } } },
      { export: { apiKey: { secretRef: { name: 'backend-key' } } } }, // source defaults to Central
    ],
    good: [{ export: { apiKey: { source: 'None' } } }],
  },
  'export.enabled needs backendUrl': {
    bad: [{ export: { enabled: true } }],
    good: [
      { export: { enabled: true, backendUrl: 'https://ingest.example.com/v1' } },
      { export: { enabled: false } },
    ],
  },
};

// --- requests ------------------------------------------------------------------------------------

let cp: ControlPlane;
let counter = 0;

function policy(spec: unknown, name = `p${counter++}`): Record<string, unknown> {
  return { apiVersion: API_GROUP_VERSION, kind: POLICY_KIND, metadata: { name, namespace: NS }, spec };
}

/** POST a policy; dry-run unless told otherwise, Strict field validation unless told otherwise. */
function create(
  spec: unknown,
  opts: { persist?: boolean; fieldValidation?: 'Strict' | 'Warn' | 'Ignore'; name?: string } = {},
): Promise<ApiResponse> {
  return cp.request('POST', COLLECTION, {
    body: policy(spec, opts.name),
    query: { dryRun: opts.persist ? undefined : 'All', fieldValidation: opts.fieldValidation ?? 'Strict' },
  });
}

interface Cause {
  reason?: string;
  message?: string;
  field?: string;
}

function causes(res: ApiResponse): Cause[] {
  return res.body?.details?.causes ?? [];
}

function describeRes(res: ApiResponse): string {
  return res.status < 300 ? `HTTP ${res.status}: accepted` : `HTTP ${res.status}: ${statusMessage(res)}`;
}

/**
 * Runs `check` over every case and reports all failures at once, so one test names every
 * field that misbehaves instead of stopping at the first.
 */
async function checkAll<T>(cases: readonly T[], check: (c: T) => Promise<string | undefined>): Promise<void> {
  const failures: string[] = [];
  for (const c of cases) {
    const problem = await check(c);
    if (problem) failures.push(problem);
  }
  assert.deepEqual(
    failures,
    [],
    `${failures.length} of ${cases.length} cases failed:\n${failures.join('\n')}`,
  );
}

// --- the suite -----------------------------------------------------------------------------------

describe('ObservationPolicy CRD', () => {
  before(async () => {
    cp = await startControlPlane();
    await cp.installCrds([CRD_FILE]);
    await kubectl(cp, 'create', 'namespace', NS);
  });
  after(async () => {
    await cp?.stop();
  });

  test('installs and becomes Established with its names', async () => {
    const res = await cp.request(
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`,
    );
    assert.equal(res.status, 200, describeRes(res));
    const conditions: Array<{ type: string; status: string }> = res.body.status.conditions;
    const status = (type: string) => conditions.find((c) => c.type === type)?.status;
    assert.equal(status('Established'), 'True');
    assert.equal(status('NamesAccepted'), 'True');
    assert.equal(res.body.spec.group, API_GROUP);
    assert.equal(res.body.spec.scope, 'Namespaced');
    assert.deepEqual(res.body.status.acceptedNames.shortNames, ['obspol']);
    const resources = await kubectl(cp, 'api-resources', `--api-group=${API_GROUP}`, '-o', 'name');
    assert.match(resources, new RegExp(`^${POLICY_PLURAL}\\.${API_GROUP.replace(/\./g, '\\.')}$`, 'm'));
  });

  test('every example policy is accepted (strict field validation) and defaulted', async () => {
    const files = readdirSync(EXAMPLES_DIR).filter((f) => /\.ya?ml$/.test(f));
    assert.ok(files.length > 0, `no examples in ${EXAMPLES_DIR}`);
    let seen = 0;
    for (const file of files) {
      for (const doc of loadAll(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as Array<
        Record<string, any>
      >) {
        if (doc?.kind !== POLICY_KIND) continue;
        seen++;
        const res = await cp.request('POST', COLLECTION, {
          body: { ...doc, metadata: { ...doc.metadata, namespace: NS } },
          query: { fieldValidation: 'Strict' },
        });
        assert.equal(res.status, 201, `${file} (${doc.metadata?.name}): ${describeRes(res)}`);
        assert.equal(res.headers.warning, undefined, `${file}: no warnings (${res.headers.warning})`);
        // Kubernetes applied the schema defaults.
        assert.ok(Array.isArray(res.body.spec.capture?.interfaces), `${file}: capture.interfaces defaulted`);
        assert.equal(typeof res.body.spec.export?.enabled, 'boolean', `${file}: export.enabled defaulted`);
      }
    }
    assert.ok(seen > 0, 'the examples hold at least one ObservationPolicy');
    // kubectl agrees, client-side and server-side.
    const out = await kubectl(
      cp,
      'apply',
      '--dry-run=server',
      '--validate=strict',
      '-n',
      NS,
      '-f',
      EXAMPLES_DIR,
    );
    assert.match(out, /observationpolic/);
  });

  test('the minimal policy gets every top-level default', async () => {
    const res = await create({});
    assert.equal(res.status, 201, describeRes(res));
    const spec = res.body.spec;
    assert.deepEqual(spec.capture.interfaces, ['any']);
    assert.equal(spec.export.enabled, false);
    assert.equal(spec.export.apiKey.source, 'Central');
    assert.equal(spec.llm.enabled, true);
    assert.equal(spec.protocols.http.enabled, true);
  });

  test('wrong types are refused, naming the field (every typed field in the schema)', async (t) => {
    const wrong: Record<string, unknown> = {
      string: 42,
      integer: 'not-a-number',
      number: 'not-a-number',
      boolean: 'not-a-boolean',
      array: 'not-an-array',
      object: 'not-an-object',
    };
    const typed = sites.filter((s) => s.node.type && s.node.type in wrong && s.steps.length > 0);
    assert.ok(typed.length > 20, `found ${typed.length} typed fields`);
    t.diagnostic(`${typed.length} typed fields`);
    await checkAll(typed, async (s) => {
      const type = s.node.type!;
      const res = await create(specWith(s.steps, wrong[type]));
      const hit = causes(res).find(
        (c) =>
          c.field === s.field && c.reason === 'FieldValueTypeInvalid' && c.message?.includes(`type ${type}`),
      );
      return res.status === 422 && hit ? undefined : `${s.field} (${type}): ${describeRes(res)}`;
    });
  });

  test('int-or-string quantities take both forms and refuse other types', async () => {
    const quantities = sites.filter((s) => s.node['x-kubernetes-int-or-string']);
    assert.ok(quantities.length > 0, 'the schema has quantities (sidecar resources)');
    await checkAll(quantities, async (s) => {
      for (const ok of [1, '250m', '64Mi']) {
        const res = await create(specWith(s.steps, ok));
        if (res.status !== 201) return `${s.field}=${JSON.stringify(ok)} refused: ${describeRes(res)}`;
      }
      const res = await create(specWith(s.steps, true));
      return res.status === 422 && causes(res).some((c) => c.field === s.field)
        ? undefined
        : `${s.field}=true: ${describeRes(res)}`;
    });
  });

  test('unknown fields are refused under strict validation, naming the field (every object)', async (t) => {
    const objects = sites.filter((s) => s.node.properties && !s.node['x-kubernetes-preserve-unknown-fields']);
    t.diagnostic(`${objects.length} objects`);
    await checkAll(objects, async (s) => {
      const res = await create(specWith(s.steps, { axomUnknownField: 1 }));
      const field = `${s.field}.axomUnknownField`;
      return res.status === 400 && statusMessage(res).includes(`unknown field "${field}"`)
        ? undefined
        : `${field}: ${describeRes(res)}`;
    });
    // Outside spec too.
    const res = await cp.request('POST', COLLECTION, {
      body: { ...policy({}), specc: {} },
      query: { dryRun: 'All', fieldValidation: 'Strict' },
    });
    assert.equal(res.status, 400);
    assert.match(statusMessage(res), /unknown field "specc"/);
  });

  test('kubectl --validate=strict names the unknown field', async () => {
    const res = await runKubectl(cp, ['create', '--validate=strict', '--dry-run=server', '-f', '-'], {
      input: JSON.stringify(policy({ capture: { snaplen: 100 } })),
    });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /unknown field "spec\.capture\.snaplen"/);
  });

  test('without strict validation an unknown field is pruned with a warning', async () => {
    const res = await create({ capture: { snaplen: 100 } }, { fieldValidation: 'Warn' });
    assert.equal(res.status, 201, describeRes(res));
    // The Warning header quotes the message, escaping its inner quotes.
    assert.match(String(res.headers.warning), /unknown field \\?"spec\.capture\.snaplen\\?"/);
    assert.equal(res.body.spec.capture.snaplen, undefined);
  });

  test('bad enum values are refused, listing the supported ones (every enum)', async (t) => {
    const enums = sites.filter((s) => s.node.enum && s.field.startsWith('spec'));
    assert.ok(enums.length > 5, `found ${enums.length} enums`);
    t.diagnostic(`${enums.length} enums`);
    await checkAll(enums, async (s) => {
      const res = await create(specWith(s.steps, 'not-a-valid-value'));
      const hit = causes(res).find((c) => c.field === s.field && c.reason === 'FieldValueNotSupported');
      const listsValues = s.node.enum!.every((v) => hit?.message?.includes(`"${String(v)}"`));
      return res.status === 422 && hit && listsValues ? undefined : `${s.field}: ${describeRes(res)}`;
    });
  });

  test('missing required fields are refused, naming them (every required key)', async (t) => {
    const withRequired = sites.filter((s) => s.node.required?.length);
    t.diagnostic(`${withRequired.length} objects with required keys`);
    assert.ok(withRequired.length > 0);
    await checkAll(withRequired, async (s) => {
      const res = await create(specWith(s.steps, {}));
      const missing = s.node.required!.filter(
        (key) =>
          !causes(res).some((c) => c.field === `${s.field}.${key}` && c.reason === 'FieldValueRequired'),
      );
      return res.status === 422 && missing.length === 0
        ? undefined
        : `${s.field} {${missing.join(', ')}}: ${describeRes(res)}`;
    });
  });

  test('numbers outside their bounds and over-long strings are refused (every bound)', async (t) => {
    type Bound = { site: Site; value: unknown; expect: RegExp };
    const bounds: Bound[] = [];
    for (const site of sites) {
      const n = site.node;
      if (n.minimum !== undefined)
        bounds.push({ site, value: n.minimum - 1, expect: /greater than or equal to/ });
      if (n.maximum !== undefined)
        bounds.push({ site, value: n.maximum + 1, expect: /less than or equal to/ });
      if (n.maxLength !== undefined)
        bounds.push({ site, value: 'a'.repeat(n.maxLength + 1), expect: /Too long/ });
    }
    assert.ok(bounds.length > 10, `found ${bounds.length} bounds`);
    t.diagnostic(`${bounds.length} bounds`);
    await checkAll(bounds, async ({ site, value, expect }) => {
      const res = await create(specWith(site.steps, value));
      const hit = causes(res).find((c) => c.field === site.field && expect.test(c.message ?? ''));
      return res.status === 422 && hit
        ? undefined
        : `${site.field}=${String(value).slice(0, 20)}: ${describeRes(res)}`;
    });
  });

  test('patterns are enforced (names, status codes, backend URL)', async () => {
    const cases: Array<[Spec, string]> = [
      [{ rules: [{ name: 'has-dash' }] }, 'spec.rules[0].name'],
      [{ rules: [{ name: 'r', match: { status: ['abcdef'] } }] }, 'spec.rules[0].match.status[0]'],
      [{ export: { backendUrl: 'ftp://example.com' } }, 'spec.export.backendUrl'],
      [{ redaction: { patterns: [{ name: 'bad name', regex: 'x' }] } }, 'spec.redaction.patterns[0].name'],
    ];
    await checkAll(cases, async ([spec, field]) => {
      const res = await create(spec);
      const hit = causes(res).find((c) => c.field === field && /should match/.test(c.message ?? ''));
      return res.status === 422 && hit ? undefined : `${field}: ${describeRes(res)}`;
    });
  });

  test('list-map keys are unique (rules, alerts, redaction patterns)', async () => {
    const res = await create({ rules: [{ name: 'same' }, { name: 'same' }] });
    assert.equal(res.status, 422, describeRes(res));
    assert.ok(causes(res).some((c) => c.field === 'spec.rules[1]' && c.reason === 'FieldValueDuplicate'));
  });

  test('every CEL rule in the schema has a case here, and no case is stale', () => {
    const inSchema = sites.flatMap((s) =>
      (s.node['x-kubernetes-validations'] ?? []).map((v) => `${v.message ?? v.rule}`),
    );
    assert.ok(inSchema.length > 0, 'the CRD has CEL rules');
    assert.deepEqual(
      [...inSchema].sort(),
      Object.keys(CEL_CASES).sort(),
      'CEL_CASES must hold exactly the messages of the CRD rules',
    );
  });

  test('each CEL rule refuses its violations with its message and accepts the valid twins', async (t) => {
    const all = Object.entries(CEL_CASES).flatMap(([message, { bad, good }]) => [
      ...bad.map((spec) => ({ message, spec, ok: false })),
      ...good.map((spec) => ({ message, spec, ok: true })),
    ]);
    t.diagnostic(`${Object.keys(CEL_CASES).length} rules, ${all.length} cases`);
    await checkAll(all, async ({ message, spec, ok }) => {
      const res = await create(spec);
      const label = `${ok ? 'valid' : 'violation'} of "${message}" ${JSON.stringify(spec)}`;
      if (ok) return res.status === 201 ? undefined : `${label}: ${describeRes(res)}`;
      const text = statusMessage(res);
      // Only this rule may fail: a schema error elsewhere would keep the rules from running at all.
      const others = causes(res).filter((c) => !c.message?.includes(message));
      return res.status === 422 && text.includes(message) && others.length === 0
        ? undefined
        : `${label}: ${describeRes(res)}`;
    });
  });

  test('the status subresource: /status keeps status, the main resource ignores it', async () => {
    const name = 'status-check';
    const path = `${COLLECTION}/${name}`;
    const created = await create({}, { persist: true, name });
    assert.equal(created.status, 201, describeRes(created));
    assert.equal(created.body.metadata.generation, 1);

    const status = {
      observedGeneration: 1,
      configMapName: `${name}-axom-rules`,
      rulesHash: 'sha256:abc',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Rendered',
          message: 'rules rendered',
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      ],
    };
    const put = await cp.request('PATCH', `${path}/status`, {
      body: { status },
      contentType: 'application/merge-patch+json',
    });
    assert.equal(put.status, 200, describeRes(put));
    assert.equal(put.body.status.rulesHash, 'sha256:abc');
    assert.equal(put.body.metadata.generation, 1, 'a status write does not bump generation');

    // A spec change sent to /status is ignored.
    const specViaStatus = await cp.request('PATCH', `${path}/status`, {
      body: { spec: { export: { batchSize: 7 } } },
      contentType: 'application/merge-patch+json',
    });
    assert.equal(specViaStatus.status, 200, describeRes(specViaStatus));
    assert.notEqual(specViaStatus.body.spec.export.batchSize, 7);

    // A status change sent to the main resource is ignored...
    const statusViaMain = await cp.request('PATCH', path, {
      body: { status: { rulesHash: 'sha256:evil' } },
      contentType: 'application/merge-patch+json',
    });
    assert.equal(statusViaMain.status, 200, describeRes(statusViaMain));
    assert.equal(statusViaMain.body.status.rulesHash, 'sha256:abc');
    assert.equal(statusViaMain.body.metadata.generation, 1);

    // ...while a spec change bumps generation and keeps the status.
    const specChange = await cp.request('PATCH', path, {
      body: { spec: { export: { batchSize: 42 } } },
      contentType: 'application/merge-patch+json',
    });
    assert.equal(specChange.status, 200, describeRes(specChange));
    assert.equal(specChange.body.metadata.generation, 2);
    assert.equal(specChange.body.spec.export.batchSize, 42);
    assert.equal(specChange.body.status.rulesHash, 'sha256:abc');
    assert.equal(specChange.body.status.observedGeneration, 1);

    // Status is validated by its schema too.
    const badStatus = await cp.request('PATCH', `${path}/status`, {
      body: { status: { conditions: [{ type: 'Ready', status: 'Maybe' }] } },
      contentType: 'application/merge-patch+json',
    });
    assert.equal(badStatus.status, 422, describeRes(badStatus));
  });

  test('printer columns show up in kubectl get obspol', async () => {
    const columns = version.additionalPrinterColumns ?? [];
    assert.ok(columns.some((c) => c.name === 'Ready'));
    assert.ok(columns.some((c) => c.name === 'Age'));
    const header = (text: string) => (text.split('\n')[0] ?? '').split(/\s{2,}/).map((h) => h.trim());
    const plain = await kubectl(cp, 'get', 'obspol', '-n', NS);
    const wide = await kubectl(cp, 'get', 'obspol', '-n', NS, '-o', 'wide');
    for (const c of columns) {
      const want = c.name.toUpperCase();
      if (!c.priority) assert.ok(header(plain).includes(want), `${want} in: ${header(plain).join(' | ')}`);
      assert.ok(header(wide).includes(want), `${want} in -o wide: ${header(wide).join(' | ')}`);
    }
    // The status written in the previous test shows in its row.
    const row = plain.split('\n').find((l) => l.startsWith('status-check '));
    assert.ok(row, plain);
    assert.match(row, /\bTrue\b/);
    assert.match(row, /\bRendered\b/);
    // The Ready column reads the condition's status; same value through a jsonpath query.
    const ready = await kubectl(
      cp,
      'get',
      'obspol',
      'status-check',
      '-n',
      NS,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    );
    assert.equal(ready, 'True');
  });
});
