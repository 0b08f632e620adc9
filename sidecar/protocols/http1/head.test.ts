/**
 * Head decoding works on bytes (lines found in place, common names and methods as
 * constants). These tests hold it to the plain string reading of RFC 9112 it replaced,
 * kept here as the oracle, on hand-picked heads and on generated ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { drive, type Step } from '../testing.ts';
import type { Transaction } from '../types.ts';
import { http1 } from './index.ts';
import {
  BODY_AUTO,
  type DecoderHandler,
  Http1Decoder,
  KIND_REQUEST,
  KIND_RESPONSE,
  type MessageHead,
} from './parser.ts';

const MAX_HEADERS = 256;
const METHOD_RE = /^[A-Z][A-Z0-9_-]{0,19}$/;

/** The string version: split on CRLF, lower-case names, trim values. */
function oracle(text: string, kind: number): Omit<MessageHead, 'headBytes'> | string {
  const lines = text.split('\r\n');
  const start = lines[0]!;
  const headers = Object.create(null) as Record<string, string>;
  const head = { method: '', target: '', statusCode: 0, reason: '', minor: 1, headers };
  if (kind === KIND_REQUEST) {
    const sp1 = start.indexOf(' ');
    const sp2 = start.lastIndexOf(' ');
    if (sp1 <= 0 || sp2 <= sp1) return 'bad-start-line';
    const method = start.slice(0, sp1);
    const version = start.slice(sp2 + 1);
    if (!METHOD_RE.test(method) || (version !== 'HTTP/1.1' && version !== 'HTTP/1.0'))
      return 'bad-start-line';
    head.method = method;
    head.target = start.slice(sp1 + 1, sp2);
    head.minor = version === 'HTTP/1.0' ? 0 : 1;
  } else {
    if (!/^HTTP\/1\.[01] [1-9]\d\d(?: |$)/.test(start)) return 'bad-start-line';
    head.minor = start.charCodeAt(7) === 0x30 ? 0 : 1;
    head.statusCode = Number(start.slice(9, 12));
    head.reason = start.slice(13);
  }
  if (lines.length - 1 > MAX_HEADERS) return 'bad-header';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      if (line.length > 0 && (line[0] === ' ' || line[0] === '\t')) continue;
      return 'bad-header';
    }
    const name = line.slice(0, colon).toLowerCase();
    if (name.includes(' ')) return 'bad-header';
    const value = line.slice(colon + 1).trim();
    const prev = headers[name];
    headers[name] = prev === undefined ? value : `${prev}${name === 'set-cookie' ? '\n' : ', '}${value}`;
  }
  return head;
}

/** Decodes one head (given without its final CRLFCRLF) with the real decoder. */
function decode(text: string, kind: number): Omit<MessageHead, 'headBytes'> | string {
  let head: MessageHead | undefined;
  let error: string | undefined;
  const handler: DecoderHandler = {
    onHead: (h) => {
      head = h;
      return BODY_AUTO;
    },
    onBody() {},
    onEnd() {},
    onAbort() {},
    onSwitch() {},
    onError: (code) => {
      // Errors after the head are the body framing's (a bad Content-Length), not decoding's.
      if (head === undefined) error ??= code;
    },
  };
  new Http1Decoder(kind, handler, 1 << 20).parse(Buffer.from(`${text}\r\n\r\n`, 'latin1'), 1);
  if (error !== undefined) return error;
  assert.ok(head, `no head and no error for ${JSON.stringify(text)}`);
  const { headBytes, ...rest } = head;
  assert.equal(headBytes, Buffer.byteLength(text, 'latin1') + 4);
  return rest;
}

function same(text: string, kind: number): void {
  assert.deepEqual(decode(text, kind), oracle(text, kind), JSON.stringify(text));
}

describe('http1 head decoding', () => {
  it('matches the string reading on hand-picked request heads', () => {
    for (const text of [
      'GET / HTTP/1.1',
      'GET /a?b=c HTTP/1.0\r\nHost: x',
      'PROPFIND /dav HTTP/1.1\r\nDepth: 1',
      'M-SEARCH * HTTP/1.1',
      'get / HTTP/1.1',
      'GET /a b HTTP/1.1',
      ' GET / HTTP/1.1',
      'GET / HTTP/1.2',
      'GET / HTTP/1.1 ',
      'GET / http/1.1',
      'GET',
      'GET /',
      'POST /v1 HTTP/1.1\r\nCONTENT-TYPE: application/json\r\nContent-Length:  12 \r\nX-Custom-Thing:\tv\t',
      'GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\nSet-Cookie: a=1\r\nset-cookie: b=2',
      'GET / HTTP/1.1\r\nX-Empty:\r\nX-Spaces:    \r\nX-Nbsp: \u00a0v\u00a0',
      'GET / HTTP/1.1\r\nFolded: a\r\n  continued\r\n\tand more',
      'GET / HTTP/1.1\r\nBad Name: x',
      'GET / HTTP/1.1\r\n: no name',
      'GET / HTTP/1.1\r\nno colon at all',
      'GET / HTTP/1.1\r\n folded: with colon',
      'GET / HTTP/1.1\r\nX-\u00c9t\u00c9: latin1 name\r\nX-Bare: a\nb',
      'GET / HTTP/1.1\r\nHost: a\r',
      'GET / HTTP/1.1\r\n__proto__: x\r\nconstructor: y\r\nHost-Name: z\r\nHos: w',
      'CONNECT host:443 HTTP/1.1\r\nHost: host:443',
      'GET / HTTP/1.1\r\nSec-WebSocket-Key: k\r\nUpgrade: websocket\r\nConnection: Upgrade',
    ]) {
      same(text, KIND_REQUEST);
    }
  });

  it('matches the string reading on hand-picked status lines', () => {
    for (const text of [
      'HTTP/1.1 200 OK',
      'HTTP/1.1 200',
      'HTTP/1.1 200 ',
      'HTTP/1.0 404 Not Found\r\nContent-Length: 0',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket',
      'HTTP/1.1 099 Low',
      'HTTP/1.1 2000 OK',
      'HTTP/1.1 20x OK',
      'HTTP/1.2 200 OK',
      'HTTP/2.0 200 OK',
      'HTTP/1.1  200 OK',
      'http/1.1 200 OK',
      'HTTP/1.1 200\tOK',
      'HTTP/1.1 200 OK\nX: y',
      'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3\r\nCONTENT-length: 5',
    ]) {
      same(text, KIND_RESPONSE);
    }
  });

  it('matches the string reading on generated heads', () => {
    const names = fc.constantFrom(
      'Host',
      'host',
      'HOST',
      'Content-Type',
      'content-LENGTH',
      'Transfer-Encoding',
      'Set-Cookie',
      'X-Api-Key',
      'Authorization',
      'User-Agent',
      'Accept',
      'X-Thing',
      'x thing',
      '',
      'Conten-Type',
      'Content-Typf',
      'Sec-WebSocket-Accept',
      '\u00c9',
    );
    const value = fc.stringMatching(/^[ \t\u00a0a-zA-Z0-9:;,=\-\r\n\u00e9]{0,12}$/);
    const line = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(names, value).map(([n, v]) => `${n}: ${v}`) },
      { weight: 2, arbitrary: fc.tuple(names, value).map(([n, v]) => `${n}:${v}`) },
      { weight: 1, arbitrary: fc.stringMatching(/^[ \ta-z:]{0,8}$/) },
    );
    const requestLine = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .tuple(
            fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'PROPFIND', 'M-SEARCH'),
            fc.constantFrom('/', '/v1/chat/completions?x=1', '*', 'host:443', 'http://a/b'),
            fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
          )
          .map(([m, t, v]) => `${m} ${t} ${v}`),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom('GET', 'get', 'G\u00c9T', '', 'POST '),
            fc.constantFrom('/', '/a b', ''),
            fc.constantFrom('HTTP/1.1', 'HTTP/1.2', 'HTTP/1.1 ', ''),
          )
          .map(([m, t, v]) => `${m} ${t} ${v}`),
      },
      { weight: 1, arbitrary: fc.stringMatching(/^[A-Z /.0-9]{0,20}$/) },
    );
    const statusLine = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .tuple(
            fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
            fc.constantFrom('200', '101', '204', '404', '503'),
            fc.constantFrom('', ' ', ' OK', ' Not Found'),
          )
          .map(([v, c, r]) => `${v} ${c}${r}`),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom('HTTP/1.1', 'HTTP/1.3', 'HTTPS1.1'),
            fc.constantFrom('200', '099', '999', '1000', '2x0'),
            fc.constantFrom('', '\tOK', ' OK'),
          )
          .map(([v, c, r]) => `${v} ${c}${r}`),
      },
      { weight: 1, arbitrary: fc.stringMatching(/^[A-Z /.0-9]{0,16}$/) },
    );
    const head = (start: fc.Arbitrary<string>) =>
      fc
        .tuple(start, fc.array(line, { maxLength: 8 }))
        .map(([s, ls]) => [s, ...ls].join('\r\n'))
        // Framing, not decoding, decides these: a CRLFCRLF inside ends the head early, and
        // blank lines before a message are skipped.
        .filter(
          (t) =>
            t.length > 0 &&
            t[0] !== '\r' &&
            t[0] !== '\n' &&
            !t.includes('\r\n\r\n') &&
            !t.endsWith('\r\n') &&
            !t.endsWith('\r'),
        );
    fc.assert(
      fc.property(head(requestLine), (t) => same(t, KIND_REQUEST)),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(head(statusLine), (t) => same(t, KIND_RESPONSE)),
      { numRuns: 1000 },
    );
  });

  it('refuses more header lines than the bound', () => {
    const lines = Array.from({ length: MAX_HEADERS + 1 }, (_, i) => `X-${i}: v`);
    same(['GET / HTTP/1.1', ...lines].join('\r\n'), KIND_REQUEST);
    same(['GET / HTTP/1.1', ...lines.slice(1)].join('\r\n'), KIND_REQUEST);
    assert.equal(decode(['GET / HTTP/1.1', ...lines].join('\r\n'), KIND_REQUEST), 'bad-header');
  });
});

describe('http1 bodies over many chunks', () => {
  const MSS = 1460;
  const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => 0x61 + (i % 26)));
  const chunked = (b: Buffer, size: number): Buffer => {
    const parts: Buffer[] = [];
    for (let o = 0; o < b.length; o += size) {
      const p = b.subarray(o, o + size);
      parts.push(Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(parts);
  };
  const run = (response: Buffer): Transaction => {
    const steps: Step[] = [
      { side: 'client', bytes: Buffer.from('GET /big HTTP/1.1\r\nHost: a\r\n\r\n') },
      { side: 'server', bytes: response },
    ];
    // Segments the size of a TCP segment, each in a scratch buffer overwritten afterwards.
    const rec = drive(http1, steps, (st) =>
      Array.from({ length: Math.ceil(st.bytes.length / MSS) }, (_, k) => k * MSS),
    );
    assert.equal(rec.transactions.length, 1);
    return rec.transactions[0]!;
  };

  it('keeps a Content-Length body larger than the first allocation whole', () => {
    const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
    const tx = run(Buffer.concat([head, body]));
    assert.ok(tx.response?.body?.equals(body));
    assert.equal(tx.response?.bodyTruncated, undefined);
    assert.equal(tx.responseBytes, head.length + body.length);
  });

  it('keeps a chunked body of unknown length whole, growing as it arrives', () => {
    const head = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    const wire = chunked(body, 3000);
    const tx = run(Buffer.concat([head, wire]));
    assert.ok(tx.response?.body?.equals(body));
    assert.equal(tx.responseBytes, head.length + wire.length);
  });

  it('stops keeping at the limit, from Content-Length and from chunks alike', () => {
    for (const response of [
      Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]),
      Buffer.concat([
        Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
        chunked(body, 777),
      ]),
    ]) {
      const steps: Step[] = [
        { side: 'client', bytes: Buffer.from('GET /big HTTP/1.1\r\n\r\n') },
        { side: 'server', bytes: response },
      ];
      const rec = drive(http1, steps, () => Array.from({ length: 300 }, (_, k) => k * 997), {
        maxBodyBytes: 150_000,
      });
      const tx = rec.transactions[0]!;
      assert.equal(tx.response?.body?.length, 150_000);
      assert.ok(tx.response?.body?.equals(body.subarray(0, 150_000)));
      assert.equal(tx.response?.bodyTruncated, true);
      assert.equal(tx.responseBytes, response.length);
    }
  });

  it('reads chunk-size lines with extensions, upper case and spaces; refuses over-long sizes', () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    const rec = drive(
      http1,
      [
        { side: 'client', bytes: Buffer.from('GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n') },
        {
          side: 'server',
          bytes: Buffer.from(
            `${head}3;ext=1\r\nabc\r\nA \r\n0123456789\r\n 2\r\nxy\r\n0\r\n\r\n${head}1234567890abc\r\nzz`,
          ),
        },
      ],
      () => [],
    );
    assert.deepEqual(
      rec.transactions.map((t) => [t.operation, t.response?.body?.toString(), t.complete]),
      [
        ['GET /', 'abc0123456789xy', true],
        ['GET /2', undefined, false],
      ],
    );
    assert.deepEqual(rec.parseErrors, [{ protocol: 'http', code: 'bad-chunk' }]);
  });
});
