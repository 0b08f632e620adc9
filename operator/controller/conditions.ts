/**
 * metav1.Condition handling: a condition's lastTransitionTime moves only when its status
 * changes (a new reason or message alone does not), which is what `kubectl wait` and
 * every other reader of conditions expect.
 */
import type { Condition } from '../../lib/policy/types.ts';

export const CONDITION_READY = 'Ready';
export const CONDITION_RULES_VALID = 'RulesValid';
export const CONDITION_SECRET_READY = 'SecretReady';

export interface DesiredCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Merges the desired conditions into the current ones: status changes stamp `now`,
 * unchanged statuses keep their time, conditions of other types are kept, order is
 * the desired order followed by the others.
 */
export function mergeConditions(
  current: readonly Condition[] | undefined,
  desired: readonly DesiredCondition[],
  observedGeneration: number | undefined,
  now: string,
): Condition[] {
  const byType = new Map((current ?? []).map((c) => [c.type, c]));
  const out: Condition[] = [];
  for (const d of desired) {
    const prev = byType.get(d.type);
    byType.delete(d.type);
    const c: Condition = {
      type: d.type,
      status: d.status,
      reason: d.reason,
      message: d.message,
      lastTransitionTime:
        prev && prev.status === d.status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    };
    if (observedGeneration !== undefined) c.observedGeneration = observedGeneration;
    out.push(c);
  }
  for (const rest of byType.values()) out.push(rest);
  return out;
}

/** Kubernetes serializes times at second precision; so do we, so that comparisons hold. */
export function nowRfc3339(date: Date = new Date()): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
