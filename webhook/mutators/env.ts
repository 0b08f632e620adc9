/**
 * The sidecar's environment (DESIGN.md names): who it is from the downward API, where its
 * rules are, and the export settings of the policy. The API key is not put in the
 * environment: the sidecar reads it from the mounted Secret file, which follows rotation.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { ENV, RULES_PATH } from '../../lib/names.ts';
import type { MutationInput, Mutator } from '../types.ts';
import { updateSidecar } from './pod.ts';

const fieldRef = (name: string, fieldPath: string): V1EnvVar => ({
  name,
  valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } },
});

export function sidecarEnv(input: MutationInput): V1EnvVar[] {
  const env: V1EnvVar[] = [
    fieldRef(ENV.podName, 'metadata.name'),
    fieldRef(ENV.podNamespace, 'metadata.namespace'),
    fieldRef(ENV.nodeName, 'spec.nodeName'),
  ];
  if (input.settings.sidecarLogLevel)
    env.push({ name: 'AXOM_LOG_LEVEL', value: input.settings.sidecarLogLevel });
  const policy = input.policy;
  if (!policy) return env;
  env.push({ name: ENV.rules, value: RULES_PATH });
  const exp = policy.spec?.export;
  if (exp?.enabled) {
    const url = exp.backendUrl ?? input.settings.backendUrlDefault;
    if (url) env.push({ name: ENV.backendUrl, value: url });
    if (exp.batchSize !== undefined) env.push({ name: ENV.batchSize, value: String(exp.batchSize) });
    if (exp.flushIntervalSeconds !== undefined) {
      env.push({ name: ENV.flushInterval, value: `${exp.flushIntervalSeconds}s` });
    }
  }
  return env;
}

export const addSidecarEnv: Mutator = (pod, input) => {
  const env = sidecarEnv(input);
  return { pod: updateSidecar(pod, (c) => ({ ...c, env: [...(c.env ?? []), ...env] })), warnings: [] };
};
