/**
 * The one-command demo, as CI runs it: `axom-observer demo` end to end (control plane,
 * operator, injection, live capture of the demo agent), its output checked, and nothing left
 * behind. Plus the demo's LLM server against the real `openai` client on loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import OpenAI from 'openai';
import { runAgent } from '../../demo/agent.ts';
import { createLlmServer } from '../../demo/llm-server.ts';
import type { DemoSummary } from '../../demo/run.ts';
import { REPO_ROOT } from '../harness/binaries.ts';

const DEMO_TIMEOUT_MS = 300_000;

describe('demo: the local LLM server', () => {
  it('answers the openai client plainly and streamed, with usage', async (t) => {
    const server = createLlmServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const plain = await client.chat.completions.create({
      model: 'demo-gpt-mini',
      messages: [{ role: 'user', content: 'one two three' }],
    });
    assert.equal(plain.usage?.prompt_tokens, 3 + 3);
    assert.ok((plain.usage?.completion_tokens ?? 0) > 0);
    assert.equal(plain.choices[0]?.finish_reason, 'stop');
    const stream = await client.chat.completions.create({
      model: 'demo-gpt-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'one two three' }],
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text.trim(), plain.choices[0]?.message.content);
    assert.deepEqual(usage, plain.usage);
    const bad = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: '{' });
    assert.equal(bad.status, 400);
    // The agent's LLM half (no database) runs against it too.
    const reports: Array<[string, Record<string, unknown>]> = [];
    await runAgent(`http://127.0.0.1:${port}/v1`, undefined, undefined, (what, detail) =>
      reports.push([what, detail]),
    );
    assert.deepEqual(
      reports.map(([what, d]) => [what, d.stream, (d.usage as { prompt_tokens: number }).prompt_tokens]),
      [
        ['chat', false, 24],
        ['chat', true, 13],
      ],
    );
  });
});

describe('demo: npm run demo', () => {
  it('shows injection, the rendered rules, LLM tokens and the SQL query, and cleans up', {
    timeout: DEMO_TIMEOUT_MS,
  }, async (t) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'cli/main.ts'), 'demo'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // Should the test time out, the whole demo (it cleans up on SIGTERM) goes with it.
    t.after(() => {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const tail = `\n--- stdout (tail) ---\n${stdout.slice(-6000)}\n--- stderr (tail) ---\n${stderr.slice(-3000)}`;

    const line = stdout.split('\n').find((l) => l.startsWith('demo: summary '));
    assert.ok(line, `no summary line${tail}`);
    const summary = JSON.parse(line.slice('demo: summary '.length)) as DemoSummary;

    // Kubernetes half.
    assert.ok(summary.injected && summary.sidecarContainer, `sidecar not injected${tail}`);
    assert.ok(summary.configMap, `no rendered ConfigMap${tail}`);
    assert.match(stdout, /the injected sidecar container:\n {4}name: axom-observer\n/);
    assert.match(stdout, /observer\.axom\.ai\/status: injected/);
    assert.match(stdout, /==> The rendered ConfigMap support-agent-axom-rules\n {4}capture:/);
    assert.match(stdout, /Ready=True/);

    // Traffic half: the SQL transaction and the LLM calls with their tokens.
    assert.ok(
      summary.sqlStatements.some((s) => s.startsWith('SELECT id, status FROM orders WHERE customer =')),
      `the SQL SELECT was not seen: ${JSON.stringify(summary.sqlStatements)}${tail}`,
    );
    assert.match(
      stdout,
      /axom_requests_total\{protocol="postgres",direction="outbound",outcome="success"\} [1-9]/,
    );
    assert.ok(summary.apiKeyRedacted, `the agent's API key leaked${tail}`);
    assert.equal(
      summary.llmCalls,
      2,
      `LLM calls in signals: ${summary.llmCalls} (missing: ${summary.missing.join(', ')})${tail}`,
    );
    assert.equal(summary.streamedLlmCalls, 1);
    // The demo LLM server's counts for the agent's two prompts (one token per word, 3 per message).
    assert.equal(summary.llmInputTokens, 24 + 13);
    assert.ok(summary.llmOutputTokens > 0);
    assert.match(stdout, /gen_ai_client_token_usage_sum\{/);
    assert.deepEqual(summary.missing, []);
    assert.equal(code, 0, `demo exited ${code}${tail}`);

    // Nothing left behind: the temp directories it named, its network namespaces.
    for (const m of stdout.matchAll(/(\/tmp\/axom-(?:cp|demo)-[A-Za-z0-9]+)/g)) {
      assert.ok(!existsSync(m[1]!), `${m[1]} still exists`);
    }
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const m of stdout.matchAll(/^(?:pod|services)\s+(\S+)/gm)) {
      assert.ok(!namespaces.includes(m[1]!), `network namespace ${m[1]} still exists`);
    }
  });
});
