/** Shared bits of the mutator tests: a frozen input proves a mutator never changes it. */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { SIDECAR_CONTAINER_NAME } from '../../lib/names.ts';
import type { ObservationPolicy } from '../../lib/policy/index.ts';
import { defaultAdmissionSettings } from '../settings.ts';
import type { AdmissionSettings, MutationInput } from '../types.ts';

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export function input(
  over: Partial<Omit<MutationInput, 'settings'>> & { settings?: Partial<AdmissionSettings> } = {},
): MutationInput {
  return {
    namespace: undefined,
    policy: undefined as ObservationPolicy | undefined,
    nativeSidecar: false,
    ...over,
    settings: defaultAdmissionSettings({ sidecarImage: 'example.com/axom:1', ...over.settings }),
  };
}

export function sidecarOf(p: V1Pod): V1Container {
  const c =
    p.spec?.initContainers?.find((x) => x.name === SIDECAR_CONTAINER_NAME) ??
    p.spec?.containers.find((x) => x.name === SIDECAR_CONTAINER_NAME);
  if (!c) throw new Error('no sidecar in pod');
  return c;
}
