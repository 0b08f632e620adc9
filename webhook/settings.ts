import type { AdmissionSettings, SidecarResources } from './types.ts';

/**
 * Requests sized for a capture of a single agent pod's traffic; the memory limit leaves
 * room for the reassembly buffers the rules allow by default (capture.totalBufferBytes).
 */
export const DEFAULT_SIDECAR_RESOURCES: SidecarResources = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};

/** Namespaces no pod of which is ever injected, whatever their annotations say. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export function defaultAdmissionSettings(overrides: Partial<AdmissionSettings> = {}): AdmissionSettings {
  return {
    namespace: 'axom-system',
    sidecarImage: 'ghcr.io/axom-ai/axom-observer:latest',
    sidecarImagePullPolicy: 'IfNotPresent',
    sidecarResources: DEFAULT_SIDECAR_RESOURCES,
    nativeSidecar: 'auto',
    excludedNamespaces: SYSTEM_NAMESPACES,
    ...overrides,
  };
}
