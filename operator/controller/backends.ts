/**
 * Which backends may receive the central API key. The key belongs to the whole organisation,
 * while `spec.export.backendUrl` is chosen by whoever may create a policy in a namespace:
 * the operator copies the central key only for backends an administrator listed
 * (`--central-secret-backends`). Matching is on parsed URLs, never on raw strings, so that
 * `https://ingest.example.com.evil.io/` or `https://ingest.example.com@evil.io/` cannot
 * pass for `https://ingest.example.com/`.
 */

export interface BackendPrefix {
  /** `http:` or `https:` */
  protocol: string;
  /** host[:port], as `URL.host` normalizes it (lowercase, default port dropped, IDNA). */
  host: string;
  /** Path prefix; matches itself and anything below it on a `/` boundary. */
  path: string;
}

/** Parses one allow-list entry; returns a problem description when it cannot be one. */
export function parseBackendPrefix(prefix: string): BackendPrefix | string {
  let u: URL;
  try {
    u = new URL(prefix);
  } catch {
    return `expected an http(s) URL prefix such as https://ingest.example.com/, got ${JSON.stringify(prefix)}`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return `expected an http:// or https:// URL, got ${JSON.stringify(prefix)}`;
  }
  if (u.username || u.password) return `must not contain user information: ${JSON.stringify(prefix)}`;
  if (u.search || u.hash || prefix.includes('?') || prefix.includes('#')) {
    return `must not contain a query or fragment: ${JSON.stringify(prefix)}`;
  }
  if (!u.hostname) return `has no host: ${JSON.stringify(prefix)}`;
  return { protocol: u.protocol, host: u.host, path: u.pathname };
}

/** Parses a whole allow list; throws on the first bad entry (a startup error). */
export function parseBackendPrefixes(prefixes: readonly string[]): BackendPrefix[] {
  return prefixes.map((p) => {
    const parsed = parseBackendPrefix(p);
    if (typeof parsed === 'string') throw new TypeError(parsed);
    return parsed;
  });
}

function pathUnder(path: string, prefix: string): boolean {
  if (prefix === '/' || prefix === '') return true;
  if (prefix.endsWith('/')) return path.startsWith(prefix);
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * True when `url` is an http(s) URL with the same scheme and host (and port) as one of the
 * prefixes and a path at or below its path. URLs with user information never match (the
 * key must go to the listed host, and nothing else rides along); an unset or unparseable
 * URL never matches; an empty list matches nothing.
 */
export function backendAllowed(url: string | undefined, prefixes: readonly string[]): boolean {
  if (!url || prefixes.length === 0) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  if (u.username || u.password) return false;
  for (const raw of prefixes) {
    const p = parseBackendPrefix(raw);
    if (typeof p === 'string') continue;
    if (p.protocol === u.protocol && p.host === u.host && pathUnder(u.pathname, p.path)) return true;
  }
  return false;
}
