/**
 * The redact stage: the policy's redaction over the whole signal, just before the sinks,
 * then the bound on LLM content again (redaction may lengthen text: "Bearer x" → "Bearer
 * [REDACTED]").
 */
import { boundContent } from '../signal/index.ts';
import type { Signal } from '../signal/types.ts';
import type { Redactor } from './redactor.ts';

export type RedactSignal = <S extends Signal>(signal: S) => S;

export function redactStage(redactor: Redactor): RedactSignal {
  return (signal) => {
    redactor.signal(signal);
    if (signal.kind === 'transaction' && signal.llm?.content !== undefined) boundContent(signal.llm.content);
    return signal;
  };
}
