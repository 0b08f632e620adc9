/** Dot paths into the signal (`llm.model`, `destination.host`) compiled to getters, for metric labels. */
import type { TransactionSignal } from '../signal/types.ts';

export type FieldGetter = (signal: TransactionSignal) => string;

export function compileField(path: string): FieldGetter {
  const parts = path.split('.');
  return (signal) => {
    let v: unknown = signal;
    for (const p of parts) {
      if (v === null || typeof v !== 'object') return '';
      v = (v as Record<string, unknown>)[p];
    }
    return v === undefined || v === null ? '' : String(v);
  };
}
