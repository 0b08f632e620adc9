/**
 * RFC 6902 JSON Patch: a diff that turns one JSON document into another, and an `apply`
 * used by the tests to prove it. Only the JSON data model matters here (objects, arrays,
 * strings, numbers, booleans, null); `undefined` members are treated as absent, as
 * JSON.stringify would.
 */

export type JsonPatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'replace'; path: string; value: unknown };

/** RFC 6901: `~` must be escaped before `/` (annotation keys such as `observer.axom.ai/status`). */
export function escapePointerToken(token: string): string {
  if (token.indexOf('~') === -1 && token.indexOf('/') === -1) return token;
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

function unescapePointerToken(token: string): string {
  if (token.indexOf('~') === -1) return token;
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep equality over the JSON data model. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = definedKeys(a as JsonObject);
  const bo = b as JsonObject;
  if (ak.length !== definedKeys(bo).length) return false;
  for (const k of ak) {
    if (bo[k] === undefined || !jsonEqual((a as JsonObject)[k], bo[k])) return false;
  }
  return true;
}

function definedKeys(o: JsonObject): string[] {
  return Object.keys(o).filter((k) => o[k] !== undefined);
}

/** A deep copy over the JSON data model (undefined members dropped); used by `apply`. */
function toJson(v: unknown): unknown {
  return v === undefined ? null : JSON.parse(JSON.stringify(v));
}

/**
 * Patch values share structure with `to` rather than copying it: a patch is serialized
 * with JSON.stringify, which drops `undefined` members just as the comparison did.
 */
function patchValue(v: unknown): unknown {
  return v === undefined ? null : v;
}

/**
 * The operations that turn `from` into `to`. Objects are diffed member by member, arrays
 * index by index over their common length and then grown at the end (`/-`) or shrunk from
 * the end, so every emitted path is valid at the moment it is applied.
 */
export function diff(from: unknown, to: unknown): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  diffInto(from, to, '', ops);
  return ops;
}

function diffInto(from: unknown, to: unknown, path: string, ops: JsonPatchOp[]): void {
  if (from === to) return;
  if (isObject(from) && isObject(to)) {
    for (const k of Object.keys(from)) {
      if (from[k] !== undefined && to[k] === undefined)
        ops.push({ op: 'remove', path: `${path}/${escapePointerToken(k)}` });
    }
    for (const k of Object.keys(to)) {
      const t = to[k];
      if (t === undefined) continue;
      const p = `${path}/${escapePointerToken(k)}`;
      if (from[k] === undefined) ops.push({ op: 'add', path: p, value: patchValue(t) });
      else diffInto(from[k], t, p, ops);
    }
    return;
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    const common = Math.min(from.length, to.length);
    for (let i = 0; i < common; i++) diffInto(from[i], to[i], `${path}/${i}`, ops);
    for (let i = from.length - 1; i >= to.length; i--) ops.push({ op: 'remove', path: `${path}/${i}` });
    for (let i = from.length; i < to.length; i++)
      ops.push({ op: 'add', path: `${path}/-`, value: patchValue(to[i]) });
    return;
  }
  if (jsonEqual(from, to)) return;
  ops.push({ op: 'replace', path, value: patchValue(to) });
}

/** Applies `ops` to a deep copy of `doc` and returns it; throws on an invalid path. */
export function apply<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  let root: unknown = toJson(doc);
  for (const op of ops) {
    if (op.path === '') {
      if (op.op === 'remove') throw new Error('cannot remove the document root');
      root = toJson(op.value);
      continue;
    }
    const tokens = op.path.split('/').slice(1).map(unescapePointerToken);
    const last = tokens.pop() as string;
    let parent: unknown = root;
    for (const t of tokens) {
      parent = Array.isArray(parent)
        ? parent[arrayIndex(t, parent.length - 1, op.path)]
        : (parent as JsonObject)?.[t];
      if (typeof parent !== 'object' || parent === null) throw new Error(`path ${op.path} does not exist`);
    }
    if (Array.isArray(parent)) {
      if (op.op === 'add') {
        const i = last === '-' ? parent.length : arrayIndex(last, parent.length, op.path);
        parent.splice(i, 0, toJson(op.value));
      } else {
        const i = arrayIndex(last, parent.length - 1, op.path);
        if (op.op === 'remove') parent.splice(i, 1);
        else parent[i] = toJson(op.value);
      }
    } else {
      const o = parent as JsonObject;
      if (op.op !== 'add' && !(last in o)) throw new Error(`path ${op.path} does not exist`);
      if (op.op === 'remove') delete o[last];
      else o[last] = toJson(op.value);
    }
  }
  return root as T;
}

function arrayIndex(token: string, max: number, path: string): number {
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new Error(`bad array index in ${path}`);
  const i = Number(token);
  if (i > max) throw new Error(`array index out of range in ${path}`);
  return i;
}
