/** HTTP/1.1 (RFC 9112): detection by the request or status line, sessions in session.ts. */
import type { Detection, ProtocolDefinition, Side } from '../types.ts';
import { Http1Session } from './session.ts';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'].map((m) =>
  Buffer.from(`${m} `, 'latin1'),
);
const STATUS_PREFIX = Buffer.from('HTTP/1.', 'latin1');
const VERSION_RE = / HTTP\/1\.[01]\r?$/;
const MAX_LINE = 8192;

function isTokenChar(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || b === 0x2d || b === 0x5f;
}

/** True when `first` starts with `prefix`, or could once more bytes arrive. */
function prefixState(first: Buffer, prefix: Buffer): Detection {
  const n = Math.min(first.length, prefix.length);
  if (first.compare(prefix, 0, n, 0, n) !== 0) return 'no';
  return first.length >= prefix.length ? 'match' : 'need-more';
}

export function detectHttp1(first: Buffer, side: Side): Detection {
  if (first.length === 0) return 'need-more';
  if (side === 'server') return prefixState(first, STATUS_PREFIX);
  let result: Detection = 'no';
  for (const m of METHODS) {
    const r = prefixState(first, m);
    if (r === 'match') return 'match';
    if (r === 'need-more') result = 'need-more';
  }
  if (result === 'need-more') return result;
  // Other methods (WebDAV, custom): a token, a space, and a request line ending in HTTP/1.x.
  let i = 0;
  while (i < first.length && i < 20 && isTokenChar(first[i]!)) i++;
  if (i === 0 || i === first.length) return i === 0 ? 'no' : 'need-more';
  if (first[i] !== 0x20) return 'no';
  const lf = first.indexOf(0x0a);
  if (lf < 0) return first.length < MAX_LINE ? 'need-more' : 'no';
  return VERSION_RE.test(first.toString('latin1', 0, lf)) ? 'match' : 'no';
}

export const http1: ProtocolDefinition = {
  name: 'http',
  defaultPorts: [80, 8080, 8000, 3000, 5000, 11434],
  detect: detectHttp1,
  create: (ctx) => new Http1Session(ctx),
};
