import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../lib/log.ts';
import { defaultRulesFile } from '../../lib/policy/index.ts';
import type { RulesFile } from '../../lib/policy/types.ts';
import { httpTx } from '../llm/testdata/tx.ts';
import * as wire from '../llm/testdata/wire.ts';
import type { ConnectionInfo } from '../protocols/types.ts';
import { buildTransactionSignal } from '../signal/index.ts';
import { createEnrichStage, type EnricherContext } from './index.ts';

const conn: ConnectionInfo = {
  id: 'c',
  client: { ip: '10.1.0.5', port: 40000 },
  server: { ip: '10.9.0.1', port: 443 },
  direction: 'outbound',
  midstream: false,
};

test('enrichers run in order (built-ins, factories, then the given ones); a throw is counted and the rest still run', async () => {
  const registry = new Registry();
  const order: string[] = [];
  const ctx: EnricherContext = { rules: defaultRulesFile, registry, log: silentLogger };
  const enrich = createEnrichStage(ctx, {
    enricherFactories: [() => (_tx, _conn, s) => void order.push(`factory sees llm: ${s.llm?.provider}`)],
    enrichers: [
      () => {
        throw new Error('broken');
      },
      () => void order.push('last'),
    ],
  });
  const tx = httpTx({
    path: '/v1/chat/completions',
    request: { model: 'gpt-4o' },
    response: wire.openaiChat.body,
  });
  enrich(tx, conn, buildTransactionSignal(tx, conn));
  enrich(tx, conn, buildTransactionSignal(tx, conn));
  assert.deepEqual(order, ['factory sees llm: openai', 'last', 'factory sees llm: openai', 'last']);
  const text = await registry.metrics();
  assert.match(text, /^axom_enricher_errors_total 2$/m);
  assert.match(text, /^axom_llm_tokens_total\{provider="openai",model="gpt-4o",type="input"\} 2400$/m);
});

test('the built-in enrichers follow a rules reload: llm.enabled false stops LLM metering', () => {
  let rules: RulesFile = defaultRulesFile();
  const enrich = createEnrichStage({ rules: () => rules, registry: new Registry(), log: silentLogger });
  const tx = httpTx({
    path: '/v1/chat/completions',
    request: { model: 'gpt-4o' },
    response: wire.openaiChat.body,
  });
  const before = buildTransactionSignal(tx, conn);
  enrich(tx, conn, before);
  assert.equal(before.llm?.provider, 'openai');
  rules = { ...rules, llm: { ...rules.llm, enabled: false } };
  const after = buildTransactionSignal(tx, conn);
  enrich(tx, conn, after);
  assert.equal(after.llm, undefined);
});
