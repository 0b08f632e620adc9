/**
 * A rule's `match` compiled into one predicate over the signal. Every field given must
 * match; an empty match matches everything.
 */
import type { RuleMatch } from '../../lib/policy/types.ts';
import type { TransactionSignal } from '../signal/types.ts';

export type Predicate = (signal: TransactionSignal) => boolean;

/**
 * A status selector (`5xx`, `404`, `14`, `ok`, `23505`) as a predicate over the signal's
 * status: classes apply to numeric HTTP statuses, anything else compares as text.
 */
export function compileStatusSelectors(
  selectors: readonly string[],
): (status: number | string | undefined) => boolean {
  const classes = new Set<number>();
  const exact = new Set<string>();
  for (const s of selectors) {
    if (/^[1-5]xx$/i.test(s)) classes.add(Number(s[0]));
    else exact.add(s.toLowerCase());
  }
  return (status) => {
    if (status === undefined) return false;
    if (typeof status === 'number' && status >= 100 && status < 600 && classes.has(Math.floor(status / 100)))
      return true;
    return exact.has(typeof status === 'number' ? String(status) : status.toLowerCase());
  };
}

export function compileMatch(match: RuleMatch | undefined): Predicate {
  const tests: Predicate[] = [];
  if (match?.protocols?.length) {
    const protocols = new Set<string>(match.protocols);
    tests.push((s) => protocols.has(s.protocol));
  }
  if (match?.direction !== undefined) {
    const direction = match.direction;
    tests.push((s) => s.direction === direction);
  }
  if (match?.methods?.length) {
    const methods = new Set(match.methods.map((m) => m.toUpperCase()));
    tests.push((s) => {
      const method = s.http?.method ?? s.db?.operation;
      return method !== undefined && methods.has(method.toUpperCase());
    });
  }
  if (match?.host !== undefined) {
    const host = new RegExp(match.host, 'i');
    tests.push((s) => host.test(s.destination.host ?? s.http?.host ?? s.destination.ip));
  }
  if (match?.path !== undefined) {
    const path = new RegExp(match.path);
    tests.push((s) => {
      const p =
        s.http?.path ??
        (s.grpc?.service !== undefined ? `/${s.grpc.service}/${s.grpc.method ?? ''}` : undefined);
      return p !== undefined && path.test(p);
    });
  }
  if (match?.status?.length) {
    const status = compileStatusSelectors(match.status);
    tests.push((s) => status(s.status));
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0] as Predicate;
  return (s) => {
    for (const t of tests) if (!t(s)) return false;
    return true;
  };
}
