/**
 * The demo AI agent: an ordinary program that knows nothing about Axom Observer. It asks
 * the local LLM server two questions with the official `openai` client (one plain, one
 * streamed) and looks something up in PostgreSQL with `pg`. It prints one JSON line per
 * call with what it saw, so the demo can compare that with what the sidecar captured.
 *
 *   node demo/agent.ts <llm base URL> [<postgres host> <postgres port>]
 */
import OpenAI from 'openai';
import pg from 'pg';

// Looks like a real key on purpose: the sidecar must redact it from every signal.
const API_KEY = 'sk-demo-0123456789abcdefghijklmnopqrstuvwxyzABCD';

export type Report = (what: string, detail: Record<string, unknown>) => void;

const printReport: Report = (what, detail) => {
  process.stdout.write(`${JSON.stringify({ agent: what, ...detail })}\n`);
};

export async function runAgent(
  baseURL: string,
  pgHost?: string,
  pgPort?: number,
  report: Report = printReport,
): Promise<void> {
  const openai = new OpenAI({ apiKey: API_KEY, baseURL, maxRetries: 0, timeout: 10_000 });

  const plain = await openai.chat.completions.create({
    model: 'demo-gpt-mini',
    messages: [
      { role: 'system', content: 'You are a support agent for an online bookshop.' },
      { role: 'user', content: 'Where is my order of three science fiction novels?' },
    ],
  });
  report('chat', { stream: false, usage: plain.usage, finish: plain.choices[0]?.finish_reason });

  const stream = await openai.chat.completions.create({
    model: 'demo-gpt-mini',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Summarize the order status for the customer in one sentence.' }],
  });
  let text = '';
  let usage: unknown;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  report('chat', { stream: true, usage, chars: text.length });

  if (pgHost === undefined || pgPort === undefined) return;
  const client = new pg.Client({ host: pgHost, port: pgPort, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    await client.query('CREATE TABLE orders (id int PRIMARY KEY, customer text, status text)');
    await client.query(
      "INSERT INTO orders VALUES (1, 'ada@example.com', 'shipped'), (2, 'alan@example.com', 'packing')",
    );
    const res = await client.query('SELECT id, status FROM orders WHERE customer = $1', ['ada@example.com']);
    report('sql', { rows: res.rowCount, status: res.rows[0]?.status });
  } finally {
    await client.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [baseURL, pgHost, pgPort] = process.argv.slice(2);
  if (!baseURL) {
    process.stderr.write('usage: agent.ts <llm base URL> [<pg host> <pg port>]\n');
    process.exit(2);
  }
  runAgent(baseURL, pgHost, pgPort === undefined ? undefined : Number(pgPort)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`agent: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
