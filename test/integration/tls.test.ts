/**
 * TLS decryption end to end: real Node and Python clients write real key logs (Node's
 * --tls-keylog, Python's SSLKEYLOGFILE, curl's SSLKEYLOGFILE), tcpdump captures loopback
 * traffic, and the capture is replayed through the real pipeline with the key log.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { createServer } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from 'ws';
import { PrerequisiteError } from '../../lib/errors.ts';
import {
  type Cert,
  listen,
  type Observed,
  replayWithKeys,
  run,
  runNodeScript,
  selfSignedCert,
  startCapture,
  tempDir,
  which,
} from './tls-capture.ts';

function echoServer(
  cert: Cert,
  options: { minVersion?: 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; ciphers?: string },
) {
  return createServer({ key: cert.key, cert: cert.cert, ...options }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ path: req.url, got: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
}

/** A Node client: two requests on one keep-alive connection, then a second connection. */
const NODE_CLIENT = `
import https from 'node:https';
const { port, ca } = JSON.parse(process.env.AXOM_TEST);
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
function call(path, body, agentOpt) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', servername: 'localhost', port, path, method: body ? 'POST' : 'GET', ca, agent: agentOpt,
      headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = ''; res.on('data', (d) => text += d); res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}
console.log(await call('/first', undefined, agent));
console.log(await call('/second', JSON.stringify({ big: 'x'.repeat(40000) }), agent));
agent.destroy();
console.log(await call('/third', undefined, false));
`;

function httpTransactions(observed: Observed[]): Observed[] {
  return observed.filter((o) => o.tx.protocol === 'http');
}

async function nodeClientCase(
  t: TestContext,
  server: { minVersion?: 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; ciphers?: string },
  version: string,
) {
  const dir = tempDir(t, 'axom-tls-');
  const cert = selfSignedCert(dir);
  const port = await listen(t, echoServer(cert, server));
  const capture = await startCapture(t, dir, port);
  const keylog = join(dir, 'keylog');
  const result = await runNodeScript(t, dir, 'client.mjs', NODE_CLIENT, [`--tls-keylog=${keylog}`], {
    AXOM_TEST: JSON.stringify({ port, ca: cert.cert }),
  });
  assert.equal(result.code, 0, result.stderr);
  const pcap = await capture.stop();

  const { observed, tls, store } = await replayWithKeys(pcap, keylog);
  const http = httpTransactions(observed);
  assert.deepEqual(
    http.map((o) => [o.tx.http?.method, o.tx.http?.path, o.tx.http?.statusCode]),
    [
      ['GET', '/first', 200],
      ['POST', '/second', 200],
      ['GET', '/third', 200],
    ],
  );
  for (const o of http) assert.deepEqual(o.tls, { decrypted: true, sni: 'localhost', version });
  const second = http[1]!;
  assert.equal(second.tx.request?.body?.length, JSON.stringify({ big: 'x'.repeat(40000) }).length);
  assert.match(second.tx.response?.body?.toString() ?? '', /"path":"\/second"/);
  assert.equal(tls.connections.decrypted, 2);
  assert.equal(tls.recordsFailed, 0);
  // Keys are dropped when their connection ends.
  assert.equal(store.size, 0);
  return { pcap, keylog };
}

test('TLS 1.3 (AES-128-GCM), Node client with --tls-keylog, HTTP/1.1 keep-alive', async (t) => {
  await nodeClientCase(t, { minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' }, '1.3');
});

test('TLS 1.3 AES-256-GCM and ChaCha20-Poly1305', async (t) => {
  await nodeClientCase(t, { minVersion: 'TLSv1.3', ciphers: 'TLS_AES_256_GCM_SHA384' }, '1.3');
  await nodeClientCase(t, { minVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }, '1.3');
});

test('TLS 1.2 ECDHE with AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305', async (t) => {
  for (const ciphers of [
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
  ]) {
    await nodeClientCase(t, { maxVersion: 'TLSv1.2', ciphers }, '1.2');
  }
});

test('without the key log: one tls transaction per connection with SNI, version and bytes', async (t) => {
  const { pcap } = await nodeClientCase(t, { minVersion: 'TLSv1.3' }, '1.3');
  const { observed, tls } = await replayWithKeys(pcap, undefined);
  assert.equal(observed.length, 2);
  for (const o of observed) {
    assert.equal(o.tx.protocol, 'tls');
    assert.deepEqual(o.tls, { decrypted: false, sni: 'localhost', version: '1.3' });
    assert.ok(o.tx.requestBytes > 300 && o.tx.responseBytes > 300);
    assert.ok(o.tx.endMs >= o.tx.startMs);
  }
  // The first connection carried the 40 kB POST body.
  assert.ok(observed.some((o) => o.tx.requestBytes > 40_000));
  assert.equal(tls.connections['no-key-log'], 2);
});

test('a key log that lacks this connection: bounded wait, then a tls summary, counted', async (t) => {
  const { pcap } = await nodeClientCase(t, { minVersion: 'TLSv1.3' }, '1.3');
  const dir = tempDir(t, 'axom-tls-');
  const other = join(dir, 'other-keylog');
  writeFileSync(
    other,
    `# nothing for these connections\nCLIENT_RANDOM ${'00'.repeat(32)} ${'11'.repeat(48)}\ngarbage line\n`,
  );
  const { observed, tls, store } = await replayWithKeys(pcap, other, 50);
  assert.deepEqual(
    observed.map((o) => o.tx.protocol),
    ['tls', 'tls'],
  );
  assert.equal(tls.connections['keys-missing'], 2);
  assert.equal(store.stats.waitsTimedOut, 2);
  assert.equal(store.stats.lines.malformed, 1);
});

test('HTTP/2 over TLS 1.3 with ALPN h2 (Node http2 client)', async (t) => {
  const dir = tempDir(t, 'axom-tls-');
  const cert = selfSignedCert(dir);
  const secure = createSecureServer({ key: cert.key, cert: cert.cert, allowHTTP1: false });
  secure.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ path: headers[':path'] }));
  });
  const port = await listen(t, secure);
  const capture = await startCapture(t, dir, port);
  const keylog = join(dir, 'keylog');
  const client = `
import http2 from 'node:http2';
const { port, ca } = JSON.parse(process.env.AXOM_TEST);
const session = http2.connect('https://localhost:' + port, { ca, host: '127.0.0.1' });
for (const path of ['/h2/one', '/h2/two']) {
  await new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':method': 'POST', 'content-type': 'application/json' });
    let text = ''; req.on('data', (d) => text += d); req.on('end', () => { console.log(text); resolve(); }); req.on('error', reject);
    req.end(JSON.stringify({ hello: path }));
  });
}
session.close();
`;
  const result = await runNodeScript(t, dir, 'h2client.mjs', client, [`--tls-keylog=${keylog}`], {
    AXOM_TEST: JSON.stringify({ port, ca: cert.cert }),
  });
  assert.equal(result.code, 0, result.stderr);
  const { observed, tls } = await replayWithKeys(await capture.stop(), keylog);
  const h2 = observed.filter((o) => o.tx.protocol === 'http2');
  assert.deepEqual(
    h2.map((o) => [o.tx.http?.path, o.tx.http?.statusCode]),
    [
      ['/h2/one', 200],
      ['/h2/two', 200],
    ],
  );
  assert.deepEqual(h2[0]!.tls, { decrypted: true, sni: 'localhost', version: '1.3', alpn: 'h2' });
  assert.equal(tls.connections.decrypted, 1);
});

test('WebSocket over TLS (wss): the upgrade inside the decrypted stream keeps its path and counts', async (t) => {
  const dir = tempDir(t, 'axom-tls-');
  const cert = selfSignedCert(dir);
  const server = createServer({ key: cert.key, cert: cert.cert });
  const wss = new WebSocketServer({ server, path: '/v1/realtime' });
  wss.on('connection', (socket) => {
    socket.on('message', (data) => socket.send(`echo:${data}`));
  });
  t.after(() => wss.close());
  const port = await listen(t, server);
  const capture = await startCapture(t, dir, port);
  const keylog = join(dir, 'keylog');
  // The client script lives in a temp dir, out of reach of node_modules: import ws by URL.
  const wsModule = pathToFileURL(createRequire(import.meta.url).resolve('ws')).href;
  const client = `
import WebSocket from '${wsModule}';
const { port, ca } = JSON.parse(process.env.AXOM_TEST);
const ws = new WebSocket('wss://localhost:' + port + '/v1/realtime', { ca });
await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
let got = 0;
const done = new Promise((resolve) => ws.on('message', () => { if (++got === 3) resolve(); }));
for (const m of ['a', 'bb', 'ccc']) ws.send(m);
await done;
ws.close(4002, 'bye');
await new Promise((resolve) => ws.on('close', resolve));
`;
  const result = await runNodeScript(t, dir, 'wssclient.mjs', client, [`--tls-keylog=${keylog}`], {
    AXOM_TEST: JSON.stringify({ port, ca: cert.cert }),
  });
  assert.equal(result.code, 0, result.stderr);
  const { observed } = await replayWithKeys(await capture.stop(), keylog);
  const ws = observed.filter((o) => o.tx.protocol === 'websocket');
  assert.equal(ws.length, 1, JSON.stringify(observed.map((o) => o.tx.protocol)));
  const tx = ws[0]!.tx;
  assert.equal(tx.http?.path, '/v1/realtime', 'the upgrade request reaches the WebSocket parser');
  assert.equal(tx.websocket?.messagesSent, 3);
  assert.equal(tx.websocket?.messagesReceived, 3);
  assert.equal(tx.websocket?.closeCode, 4002);
  assert.equal(ws[0]!.tls?.decrypted, true);
});

test('Python requests with SSLKEYLOGFILE (ssl.create_default_context), no code change', async (t) => {
  const python = which('python3');
  if (python === undefined) throw new PrerequisiteError('python3 is required');
  const check = await run(t, python, ['-c', 'import requests'], process.env);
  if (check.code !== 0)
    throw new PrerequisiteError('Python requests is not installed (pip install requests)');
  const dir = tempDir(t, 'axom-tls-');
  const cert = selfSignedCert(dir);
  const port = await listen(t, echoServer(cert, {}));
  const capture = await startCapture(t, dir, port);
  const keylog = join(dir, 'keylog');
  const script = `import requests, sys\ns = requests.Session()\nprint(s.post(f"https://localhost:${port}/py", json={"a": 1}, verify=sys.argv[1]).text)\nprint(s.get(f"https://localhost:${port}/py2", verify=sys.argv[1]).text)\n`;
  const result = await run(t, python, ['-c', script, cert.certPath], {
    ...process.env,
    SSLKEYLOGFILE: keylog,
  });
  assert.equal(result.code, 0, result.stderr);
  const { observed } = await replayWithKeys(await capture.stop(), keylog);
  const http = httpTransactions(observed);
  assert.deepEqual(
    http.map((o) => [o.tx.http?.method, o.tx.http?.path, o.tls?.decrypted]),
    [
      ['POST', '/py', true],
      ['GET', '/py2', true],
    ],
  );
  assert.equal(http[0]!.tx.request?.body?.toString(), '{"a": 1}');
});

test('curl with SSLKEYLOGFILE, TLS 1.2 and TLS 1.3', async (t) => {
  const curl = which('curl');
  if (curl === undefined) throw new PrerequisiteError('curl is required');
  const dir = tempDir(t, 'axom-tls-');
  const cert = selfSignedCert(dir);
  const port = await listen(t, echoServer(cert, {}));
  const capture = await startCapture(t, dir, port);
  const keylog = join(dir, 'keylog');
  for (const v of ['--tlsv1.3', '--tls-max']) {
    const args = v === '--tls-max' ? ['--tls-max', '1.2'] : [v];
    const r = await run(
      t,
      curl,
      [
        '-sS',
        '--http1.1',
        ...args,
        '--cacert',
        cert.certPath,
        `https://localhost:${port}/curl${args.length}`,
      ],
      {
        ...process.env,
        SSLKEYLOGFILE: keylog,
      },
    );
    assert.equal(r.code, 0, r.stderr);
  }
  const { observed } = await replayWithKeys(await capture.stop(), keylog);
  const http = httpTransactions(observed);
  assert.deepEqual(
    http.map((o) => [o.tx.http?.path, o.tls?.version, o.tls?.decrypted]),
    [
      ['/curl1', '1.3', true],
      ['/curl2', '1.2', true],
    ],
  );
});
