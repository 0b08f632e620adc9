/**
 * The admission webhook: `POST /mutate-v1-pod` injects the `axom-observer` sidecar into
 * opted-in pods, `POST /validate-observationpolicy` refuses policies the CRD schema
 * cannot catch. Public API for the operator:
 *
 *   const policies = startPolicyCache(kubeConfig, { log });      // or your own PolicyLookup
 *   const namespaces = startNamespaceCache(kubeConfig, { log }); // or your own NamespaceLookup
 *   await Promise.all([policies.synced(), namespaces.synced()]);
 *   const server = await startAdmissionServer({
 *     port: 9443, tls,            // a TlsSource from operator/certs
 *     settings: defaultAdmissionSettings({ namespace, sidecarImage, ... }),
 *     policies, namespaces, registry, log,
 *   });
 *   ...; await server.close();
 *
 * Metrics on `registry`: axom_admission_requests_total{webhook,result} and
 * axom_admission_duration_seconds{webhook,result}; `result` is `injected`, a SkipReason
 * (`not_requested`, `opted_out`, `excluded_namespace`, `already_injected`, `host_network`,
 * `pod_security`), `ignored_operation`, `error`, `bad_request`, or for the validating
 * webhook `policy_accepted` / `policy_rejected`.
 */
export { apply as applyJsonPatch, diff as jsonPatchDiff, type JsonPatchOp } from './jsonpatch.ts';
export {
  type CacheControl,
  startNamespaceCache,
  startPolicyCache,
  staticNamespaceLookup,
  staticPolicyLookup,
} from './lookup.ts';
export { ADMISSION_DURATION_SECONDS, ADMISSION_REQUESTS_TOTAL } from './metrics.ts';
export { admitPod, type MutateResult, mutatePod, type PodMutation } from './mutate.ts';
export { injectSidecar, MUTATORS } from './mutators/index.ts';
export {
  decideInjection,
  hasSidecar,
  nativeSidecarWanted,
  POD_SECURITY_ENFORCE_LABEL,
  type SkipReason,
  STATUS_INJECTED,
  selectPolicy,
} from './predicates.ts';
export { type AdmissionServer, type AdmissionServerOptions, startAdmissionServer } from './server.ts';
export {
  DEFAULT_SIDECAR_RESOURCES,
  defaultAdmissionSettings,
  quantityProblem,
  type SidecarResourceQuantities,
  SYSTEM_NAMESPACES,
  sidecarResourcesFrom,
} from './settings.ts';
export type {
  AdmissionSettings,
  MutationInput,
  Mutator,
  NamespaceInfo,
  NamespaceLookup,
  NativeSidecarMode,
  PolicyLookup,
  SidecarResources,
} from './types.ts';
export { admitPolicy } from './validate.ts';
