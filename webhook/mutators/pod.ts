/**
 * Copy-on-write helpers: a mutator returns a new pod that shares every part it did not
 * change, so mutators stay pure without deep-copying the whole pod at each step.
 */
import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { SIDECAR_CONTAINER_NAME } from '../../lib/names.ts';

export type ContainerKind = 'container' | 'init';

export function withSpec(pod: V1Pod, change: (spec: V1PodSpec) => V1PodSpec): V1Pod {
  const spec = pod.spec ?? ({ containers: [] } as V1PodSpec);
  return { ...pod, spec: change(spec) };
}

/** Maps every container (init first, then regular); returns the same pod when nothing changed. */
export function mapContainers(pod: V1Pod, fn: (c: V1Container, kind: ContainerKind) => V1Container): V1Pod {
  const spec = pod.spec;
  if (!spec) return pod;
  const init = spec.initContainers?.map((c) => fn(c, 'init'));
  const regular = spec.containers.map((c) => fn(c, 'container'));
  const initChanged = init?.some((c, i) => c !== spec.initContainers?.[i]) ?? false;
  const regularChanged = regular.some((c, i) => c !== spec.containers[i]);
  if (!initChanged && !regularChanged) return pod;
  return {
    ...pod,
    spec: {
      ...spec,
      ...(initChanged ? { initContainers: init } : {}),
      ...(regularChanged ? { containers: regular } : {}),
    },
  };
}

/** Applies `fn` to our own container wherever it sits. */
export function updateSidecar(pod: V1Pod, fn: (c: V1Container) => V1Container): V1Pod {
  return mapContainers(pod, (c) => (c.name === SIDECAR_CONTAINER_NAME ? fn(c) : c));
}

export function findSidecar(pod: V1Pod): V1Container | undefined {
  return (
    pod.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME) ??
    pod.spec?.containers.find((c) => c.name === SIDECAR_CONTAINER_NAME)
  );
}
