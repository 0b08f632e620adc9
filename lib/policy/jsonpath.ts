/**
 * A small, safe JSONPath: `$`, `.name`, `['name']`, `[0]`, `[-1]`, `[*]`, `.*` and `..name`.
 * No filter or script expressions, so nothing a policy says is ever evaluated as code.
 */

type Segment =
  | { kind: 'child'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'descendant'; name: string | null };

export interface CompiledJsonPath {
  readonly source: string;
  /** Every value the path selects in `doc`, in document order. */
  select(doc: unknown): unknown[];
  /** The first selected value, or undefined. */
  first(doc: unknown): unknown;
}

const IDENT = /^[A-Za-z_$][\w$-]*/;

export class JsonPathSyntaxError extends Error {
  override name = 'JsonPathSyntaxError';
  constructor(path: string, at: number, what: string) {
    super(`malformed JSONPath ${JSON.stringify(path)} at ${at}: ${what}`);
  }
}

function parse(path: string): Segment[] {
  if (!path.startsWith('$')) throw new JsonPathSyntaxError(path, 0, 'must start with $');
  const out: Segment[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      const descendant = path[i + 1] === '.';
      i += descendant ? 2 : 1;
      if (path[i] === '*') {
        out.push(descendant ? { kind: 'descendant', name: null } : { kind: 'wildcard' });
        i++;
        continue;
      }
      if (descendant && path[i] === '[') {
        out.push({ kind: 'descendant', name: null });
        continue;
      }
      const m = IDENT.exec(path.slice(i));
      if (!m) throw new JsonPathSyntaxError(path, i, 'expected a member name');
      out.push(descendant ? { kind: 'descendant', name: m[0] } : { kind: 'child', name: m[0] });
      i += m[0].length;
    } else if (c === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw new JsonPathSyntaxError(path, i, 'missing ]');
      const inner = path.slice(i + 1, close).trim();
      if (inner === '*') out.push({ kind: 'wildcard' });
      else if (/^-?\d+$/.test(inner)) out.push({ kind: 'index', index: Number(inner) });
      else if (/^'[^']*'$/.test(inner) || /^"[^"]*"$/.test(inner))
        out.push({ kind: 'child', name: inner.slice(1, -1) });
      else
        throw new JsonPathSyntaxError(
          path,
          i,
          `unsupported selector [${inner}] (filters and scripts are not allowed)`,
        );
      i = close + 1;
    } else {
      throw new JsonPathSyntaxError(path, i, `unexpected ${JSON.stringify(c)}`);
    }
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function children(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObject(v)) return Object.values(v);
  return [];
}

/** Bounded so a deep document cannot make descendant search run away. */
const MAX_DESCENT = 64;
function descend(v: unknown, name: string | null, out: unknown[], depth: number): void {
  if (depth > MAX_DESCENT) return;
  if (isObject(v)) {
    for (const [k, child] of Object.entries(v)) {
      if (name === null || k === name) out.push(child);
      descend(child, name, out, depth + 1);
    }
  } else if (Array.isArray(v)) {
    for (const child of v) {
      if (name === null) out.push(child);
      descend(child, name, out, depth + 1);
    }
  }
}

function step(values: unknown[], seg: Segment): unknown[] {
  const out: unknown[] = [];
  for (const v of values) {
    switch (seg.kind) {
      case 'child':
        if (isObject(v) && Object.hasOwn(v, seg.name)) out.push(v[seg.name]);
        break;
      case 'index':
        if (Array.isArray(v)) {
          const idx = seg.index < 0 ? v.length + seg.index : seg.index;
          if (idx >= 0 && idx < v.length) out.push(v[idx]);
        }
        break;
      case 'wildcard':
        out.push(...children(v));
        break;
      case 'descendant':
        descend(v, seg.name, out, 0);
        break;
    }
  }
  return out;
}

export function compileJsonPath(path: string): CompiledJsonPath {
  const segments = parse(path.trim());
  const select = (doc: unknown): unknown[] =>
    segments.reduce<unknown[]>((vals, seg) => step(vals, seg), [doc]);
  return { source: path, select, first: (doc) => select(doc)[0] };
}
