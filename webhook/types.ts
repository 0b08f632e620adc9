/**
 * The webhook's contracts: what the operator hands in (settings, caches) and what the
 * mutators take and give back. Kubernetes object shapes come from @kubernetes/client-node
 * as types only, so the admission hot path never loads the client.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { ObservationPolicy } from '../lib/policy/index.ts';

export type NativeSidecarMode = 'auto' | 'always' | 'never';
export const NATIVE_SIDECAR_MODES: readonly NativeSidecarMode[] = ['auto', 'always', 'never'];

export interface ResourceQuantities {
  cpu?: string;
  memory?: string;
}
export interface SidecarResources {
  requests?: ResourceQuantities;
  limits?: ResourceQuantities;
}

/** Operator-wide injection settings (flags of `axom-observer operator`). */
export interface AdmissionSettings {
  /** The operator's namespace; never injected. */
  namespace: string;
  sidecarImage: string;
  sidecarImagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  sidecarResources: SidecarResources;
  /** `auto` decides from `serverVersion` (native sidecars are on by default from 1.29). */
  nativeSidecar: NativeSidecarMode;
  /** Namespaces whose pods are never injected (the operator's own is always added). */
  excludedNamespaces: readonly string[];
  /** The API server's version, read once at start-up; unknown means `auto` = regular container. */
  serverVersion?: { major: number; minor: number };
  /** Used when a policy enables export without naming a backend URL. */
  backendUrlDefault?: string;
  /** Log level passed to the sidecar (AXOM_LOG_LEVEL); left out when undefined. */
  sidecarLogLevel?: string;
}

/** Read-only view of the ObservationPolicy informer cache. */
export interface PolicyLookup {
  get(namespace: string, name: string): ObservationPolicy | undefined;
  list(namespace: string): readonly ObservationPolicy[];
}

/** What the webhook needs to know about a namespace (from a Namespace informer). */
export interface NamespaceInfo {
  name: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}
export interface NamespaceLookup {
  get(name: string): NamespaceInfo | undefined;
}

/** Everything a mutator may depend on; mutators are pure functions of this and the pod. */
export interface MutationInput {
  namespace: NamespaceInfo | undefined;
  /** The chosen policy, or undefined for the sidecar's built-in defaults. */
  policy: ObservationPolicy | undefined;
  settings: AdmissionSettings;
  /** Decided once per admission (predicates.ts: nativeSidecarWanted). */
  nativeSidecar: boolean;
  /** Why there is no policy (e.g. `no matching ObservationPolicy`), for the status annotation. */
  policyNote?: string;
}

export interface MutatorResult {
  pod: V1Pod;
  /** Admission warnings for the user (shown by kubectl); never secrets. */
  warnings: string[];
}

/** A mutator never changes its input: it returns a new pod sharing untouched parts. */
export type Mutator = (pod: V1Pod, input: MutationInput) => MutatorResult;
