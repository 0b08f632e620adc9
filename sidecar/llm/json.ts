/** Small, allocation-light readers for untrusted JSON from LLM APIs. */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Parses JSON, or undefined when it is not JSON (a truncated body, an HTML error page). */
export function parseJson(text: string | Buffer | undefined): Json | undefined {
  if (text === undefined || text.length === 0) return undefined;
  try {
    return JSON.parse(typeof text === 'string' ? text : text.toString('utf8')) as Json;
  } catch {
    return undefined;
  }
}

export function obj(v: Json | undefined): JsonObject | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

export function arr(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A non-negative integer count, or undefined. */
export function count(v: Json | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
}

/** `obj.a.b.c` without throwing on missing links. */
export function path(v: Json | undefined, ...keys: string[]): Json | undefined {
  let cur: Json | undefined = v;
  for (const k of keys) {
    const o = obj(cur);
    if (o === undefined) return undefined;
    cur = o[k];
  }
  return cur;
}

export function sum(...values: Array<number | undefined>): number | undefined {
  let total: number | undefined;
  for (const v of values) if (v !== undefined) total = (total ?? 0) + v;
  return total;
}

/** Adds a name once, keeping first-seen order; bounded so a hostile stream cannot grow it. */
export function addName(list: string[], name: string | undefined, max = 64): void {
  if (name !== undefined && name !== '' && list.length < max && !list.includes(name)) list.push(name);
}
