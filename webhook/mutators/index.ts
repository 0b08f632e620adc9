/** The mutation pipeline: small pure mutators applied in order. */
import type { V1Pod } from '@kubernetes/client-node';
import type { MutationInput, Mutator, MutatorResult } from '../types.ts';
import { addAnnotations } from './annotations.ts';
import { addSidecarEnv } from './env.ts';
import { addSidecarContainer } from './sidecar.ts';
import { addTlsKeyLog } from './tls-keylog.ts';
import { addPolicyVolumes } from './volumes.ts';

export { addAnnotations, canonicalJson, configHash, injectedStatus } from './annotations.ts';
export { addSidecarEnv, sidecarEnv } from './env.ts';
export { findSidecar } from './pod.ts';
export {
  addSidecarContainer,
  buildSidecarContainer,
  parseQuantity,
  SIDECAR_PORT_NAME,
  sidecarResources,
} from './sidecar.ts';
export { addTlsKeyLog, KEYLOG_VOLUME, NODE_KEYLOG_FLAG } from './tls-keylog.ts';
export { addPolicyVolumes, RULES_VOLUME, SECRET_VOLUME } from './volumes.ts';

/** Order matters: the container first, then what hangs off it; annotations hash the result. */
export const MUTATORS: readonly Mutator[] = [
  addSidecarContainer,
  addPolicyVolumes,
  addSidecarEnv,
  addTlsKeyLog,
  addAnnotations,
];

export function injectSidecar(pod: V1Pod, input: MutationInput): MutatorResult {
  let current = pod;
  const warnings: string[] = [];
  for (const m of MUTATORS) {
    const r = m(current, input);
    current = r.pod;
    warnings.push(...r.warnings);
  }
  return { pod: current, warnings };
}
