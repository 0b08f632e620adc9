import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { policySpecSchema } from '../lib/policy/schema.ts';
import { REFERENCE_PATH, renderPolicyReference } from './policy-reference.ts';

/** Every property path of a schema, arrays of objects as `name[]`. */
function paths(s: Record<string, any>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [name, child] of Object.entries<Record<string, any>>(s.properties ?? {})) {
    const p = prefix ? `${prefix}.${name}` : name;
    out.push(p);
    if (child.properties) out.push(...paths(child, p));
    if (child.type === 'array' && child.items?.properties) out.push(...paths(child.items, `${p}[]`));
  }
  return out;
}

describe('docs/policy-reference.md', () => {
  it('is what scripts/policy-reference.ts generates from lib/policy/schema.ts (run it after changing the schema)', () => {
    const committed = readFileSync(REFERENCE_PATH, 'utf8').split('\n');
    const fresh = renderPolicyReference().split('\n');
    const line = fresh.findIndex((l, i) => l !== committed[i]);
    assert.ok(
      line === -1 && committed.length === fresh.length,
      `docs/policy-reference.md is out of date (first difference at line ${line + 1}: ${JSON.stringify(fresh[line])}); run npm run generate`,
    );
  });

  it('has one row for every field of the spec, with its description', () => {
    const text = renderPolicyReference();
    const all = paths(policySpecSchema);
    assert.ok(all.length > 80, `only ${all.length} fields`);
    for (const p of all)
      assert.match(text, new RegExp(`^\\| \`${p.replace(/[.[\]]/g, '\\$&')}\` +\\|`, 'm'), p);
    assert.match(text, /\| `capture\.snapLength` +\| integer +\| `262144` +\| ≥ 256; ≤ 262144 +\|/);
    assert.match(text, /`export`: export\.enabled needs backendUrl/);
    assert.match(text, /\| `capture\.tlsKeyLog\.path` +\|/, 'rules.yaml-only fields are listed too');
  });
});
