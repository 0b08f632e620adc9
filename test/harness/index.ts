/** The integration-test harness: a real control plane, kubectl/helm, PKI and small helpers. */
export { findHelm, findKubectl, REPO_ROOT, resolveControlPlaneBinaries } from './binaries.ts';
export {
  type ApiResponse,
  type ControlPlane,
  type ControlPlaneOptions,
  freePort,
  type RequestOptions,
  startControlPlane,
  statusMessage,
  type WebhookOptions,
  type WebhookRegistration,
} from './controlplane.ts';
export { applyManifest, kubectl, runKubectl, waitFor } from './kube.ts';
export { createServiceAccountKeyPair, createTestCA, type KeyPairPem, type TestCA } from './pki.ts';
