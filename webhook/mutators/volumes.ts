/**
 * The policy's rendered objects as files in the sidecar: the rules ConfigMap as the
 * whole /etc/axom directory and the API-key Secret at /etc/axom/secret.
 *
 * Both volumes are `optional: true`. The controller renders them shortly after the policy
 * appears (and not at all while the policy is invalid or exports nothing); a required
 * volume would hold the whole pod in ContainerCreating until then. The kubelet fills an
 * optional volume in once the object exists, and the sidecar watches the directory.
 * The directory is mounted, never a subPath: only a directory mount sees the kubelet's
 * atomic `..data` symlink swap, which is what makes hot reload work.
 */
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { apiKeySecretName, RULES_DIR, rulesConfigMapName, SECRET_DIR } from '../../lib/names.ts';
import type { Mutator } from '../types.ts';
import { updateSidecar, withSpec } from './pod.ts';

export const RULES_VOLUME = 'axom-observer-rules';
export const SECRET_VOLUME = 'axom-observer-api-key';

export const addPolicyVolumes: Mutator = (pod, input) => {
  const policy = input.policy;
  // Without a policy the sidecar runs on its built-in defaults: nothing to mount.
  if (!policy) return { pod, warnings: [] };
  const name = policy.metadata.name;
  const volumes: V1Volume[] = [
    { name: RULES_VOLUME, configMap: { name: rulesConfigMapName(name), optional: true } },
    {
      name: SECRET_VOLUME,
      secret: { secretName: apiKeySecretName(name), optional: true, defaultMode: 0o400 },
    },
  ];
  const mounts: V1VolumeMount[] = [
    { name: RULES_VOLUME, mountPath: RULES_DIR, readOnly: true },
    { name: SECRET_VOLUME, mountPath: SECRET_DIR, readOnly: true },
  ];
  const existing = new Set((pod.spec?.volumes ?? []).map((v) => v.name));
  const warnings = volumes
    .filter((v) => existing.has(v.name))
    .map((v) => `axom-observer: the pod already has a volume named ${v.name}; it was left as it was`);
  let mutated = withSpec(pod, (spec) => ({
    ...spec,
    volumes: [...(spec.volumes ?? []), ...volumes.filter((v) => !existing.has(v.name))],
  }));
  mutated = updateSidecar(mutated, (c) => ({ ...c, volumeMounts: [...(c.volumeMounts ?? []), ...mounts] }));
  return { pod: mutated, warnings };
};
