import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OTHER_LABEL } from '../../metrics/index.ts';
import { createSidecarMetrics } from './index.ts';

test('rule metric labels fed by traffic are capped: past the cap they count as other, and overflows are counted', async () => {
  const metrics = createSidecarMetrics(undefined, { maxRuleSeries: 3 });
  const record = metrics.ruleSink.define({
    name: 'axom_rule_hits',
    type: 'counter',
    help: 'hits',
    labelNames: ['path', 'host'],
  });
  // A client sending a new path every request must not grow the series without bound.
  for (let i = 0; i < 50; i++) record(1, [`/item/${i}`, 'api.example.com']);
  record(1, ['/item/0', 'api.example.com']);

  const hits = await metrics.registry.getSingleMetric('axom_rule_hits')?.get();
  assert.ok(hits);
  assert.equal(hits.values.length, 4, 'three label sets plus one overflow series');
  const other = hits.values.find((v) => v.labels.path === OTHER_LABEL);
  assert.deepEqual(other?.labels, { path: OTHER_LABEL, host: OTHER_LABEL });
  assert.equal(other?.value, 47);
  assert.equal(hits.values.find((v) => v.labels.path === '/item/0')?.value, 2);

  const overflow = await metrics.registry.getSingleMetric('axom_rule_series_overflow_total')?.get();
  assert.deepEqual(
    overflow?.values.map((v) => [v.labels, v.value]),
    [[{ metric: 'axom_rule_hits' }, 47]],
  );
});

test('rule metrics without labels and histograms keep working under the cap', async () => {
  const metrics = createSidecarMetrics(undefined, { maxRuleSeries: 1 });
  const plain = metrics.ruleSink.define({
    name: 'axom_rule_plain',
    type: 'counter',
    help: 'p',
    labelNames: [],
  });
  plain(2, []);
  plain(3, []);
  const h = metrics.ruleSink.define({
    name: 'axom_rule_size',
    type: 'histogram',
    help: 's',
    labelNames: ['model'],
    buckets: [10, 100],
  });
  h(5, ['a']);
  h(50, ['b']);
  const p = await metrics.registry.getSingleMetric('axom_rule_plain')?.get();
  assert.equal(p?.values[0]?.value, 5);
  const text = await metrics.registry.metrics();
  assert.match(text, /axom_rule_size_count\{model="a"\} 1/);
  assert.match(text, /axom_rule_size_count\{model="other"\} 1/);
  assert.match(text, /axom_rule_series_overflow_total\{metric="axom_rule_size"\} 1/);
});
