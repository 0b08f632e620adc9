/**
 * Webhook configurations for running the operator outside the cluster
 * (`--webhook-url https://127.0.0.1:9443`): URL-based Mutating- and
 * ValidatingWebhookConfigurations, created or brought up to date.
 */
import {
  AdmissionregistrationV1Api,
  type AdmissionregistrationV1WebhookClientConfig,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1ObjectMeta,
  type V1RuleWithOperations,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION,
  POLICY_PLURAL,
  WEBHOOK_MUTATE_PATH,
  WEBHOOK_VALIDATE_PATH,
} from '../../lib/names.ts';
import { isConflict, isNotFound } from './kube.ts';

export const DEFAULT_WEBHOOK_CONFIGURATION_NAME = 'axom-observer';
export const MUTATING_WEBHOOK_NAME = `inject.${API_GROUP}`;
export const VALIDATING_WEBHOOK_NAME = `validate.${API_GROUP}`;

export interface WebhookConfigurationOptions {
  /** `https://host:port`; the paths are appended. Or a Service reference via clientConfig. */
  url?: string;
  service?: { name: string; namespace: string; port?: number };
  /** PEM CA bundle that verifies the webhook's serving certificate. */
  caBundle: string;
  failurePolicy?: 'Ignore' | 'Fail';
  mutatingName?: string;
  validatingName?: string;
  /** Register the validating configuration too (default true). */
  validating?: boolean;
  /** Namespaces the API server does not even send (the operator's, kube-system, ...). */
  excludedNamespaces?: readonly string[];
  timeoutSeconds?: number;
  reinvocationPolicy?: 'Never' | 'IfNeeded';
}

function clientConfig(
  o: WebhookConfigurationOptions,
  path: string,
): AdmissionregistrationV1WebhookClientConfig {
  const caBundle = Buffer.from(o.caBundle, 'utf8').toString('base64');
  if (o.url) return { url: `${o.url.replace(/\/+$/, '')}${path}`, caBundle };
  if (o.service) return { service: { ...o.service, port: o.service.port ?? 443, path }, caBundle };
  throw new Error('a webhook configuration needs a url or a service');
}

function namespaceSelector(o: WebhookConfigurationOptions) {
  const excluded = [...new Set(o.excludedNamespaces ?? [])];
  if (excluded.length === 0) return {};
  return { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded }] };
}

/** The object both configurations wear: the name (default shared) and our managed-by label. */
function metadata(name: string | undefined): V1ObjectMeta {
  return {
    name: name ?? DEFAULT_WEBHOOK_CONFIGURATION_NAME,
    labels: { 'app.kubernetes.io/managed-by': 'axom-observer' },
  };
}

/** One webhook's call settings, the same for both: where, which objects, and how it may fail. */
function webhook(o: WebhookConfigurationOptions, name: string, path: string, rule: V1RuleWithOperations) {
  return {
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: clientConfig(o, path),
    rules: [{ ...rule, scope: 'Namespaced' }],
    // Never the reason a pod is refused: by default a webhook outage admits pods unchanged.
    failurePolicy: o.failurePolicy ?? 'Ignore',
    matchPolicy: 'Equivalent',
    // The webhook has no side effects, so dry-run requests are sent to it as well.
    sideEffects: 'None',
    timeoutSeconds: o.timeoutSeconds ?? 5,
  };
}

export function mutatingWebhookConfiguration(o: WebhookConfigurationOptions): V1MutatingWebhookConfiguration {
  const pods = { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: metadata(o.mutatingName),
    webhooks: [
      {
        ...webhook(o, MUTATING_WEBHOOK_NAME, WEBHOOK_MUTATE_PATH, pods),
        reinvocationPolicy: o.reinvocationPolicy ?? 'IfNeeded',
        namespaceSelector: namespaceSelector(o),
      },
    ],
  };
}

export function validatingWebhookConfiguration(
  o: WebhookConfigurationOptions,
): V1ValidatingWebhookConfiguration {
  const policies = {
    apiGroups: [API_GROUP],
    apiVersions: [API_VERSION],
    operations: ['CREATE', 'UPDATE'],
    resources: [POLICY_PLURAL],
  };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: metadata(o.validatingName),
    webhooks: [webhook(o, VALIDATING_WEBHOOK_NAME, WEBHOOK_VALIDATE_PATH, policies)],
  };
}

async function upsert<T extends { metadata?: { resourceVersion?: string } }>(
  read: () => Promise<T>,
  create: () => Promise<unknown>,
  replace: (resourceVersion: string) => Promise<unknown>,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const existing = await read();
      await replace(existing.metadata?.resourceVersion ?? '');
      return;
    } catch (err) {
      if (isNotFound(err)) {
        try {
          await create();
          return;
        } catch (createErr) {
          if (!isConflict(createErr) || attempt >= 4) throw createErr;
          continue;
        }
      }
      if (!isConflict(err) || attempt >= 4) throw err;
    }
  }
}

/** Creates or replaces both configurations (the mutating one only with validating: false); returns their names. */
export async function registerUrlWebhooks(
  kubeConfig: KubeConfig,
  o: WebhookConfigurationOptions,
): Promise<{ mutating: string; validating: string | undefined }> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const m = mutatingWebhookConfiguration(o);
  const v = validatingWebhookConfiguration(o);
  const mName = m.metadata?.name as string;
  const vName = v.metadata?.name as string;
  await upsert(
    () => api.readMutatingWebhookConfiguration({ name: mName }),
    () => api.createMutatingWebhookConfiguration({ body: m }),
    (resourceVersion) =>
      api.replaceMutatingWebhookConfiguration({
        name: mName,
        body: { ...m, metadata: { ...m.metadata, resourceVersion } },
      }),
  );
  if (o.validating === false) return { mutating: mName, validating: undefined };
  await upsert(
    () => api.readValidatingWebhookConfiguration({ name: vName }),
    () => api.createValidatingWebhookConfiguration({ body: v }),
    (resourceVersion) =>
      api.replaceValidatingWebhookConfiguration({
        name: vName,
        body: { ...v, metadata: { ...v.metadata, resourceVersion } },
      }),
  );
  return { mutating: mName, validating: vName };
}

export async function unregisterWebhooks(
  kubeConfig: KubeConfig,
  names: { mutating?: string; validating?: string } = {},
): Promise<void> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const ignoreMissing = (err: unknown) => {
    if (!isNotFound(err)) throw err;
  };
  await api
    .deleteMutatingWebhookConfiguration({ name: names.mutating ?? DEFAULT_WEBHOOK_CONFIGURATION_NAME })
    .catch(ignoreMissing);
  await api
    .deleteValidatingWebhookConfiguration({ name: names.validating ?? DEFAULT_WEBHOOK_CONFIGURATION_NAME })
    .catch(ignoreMissing);
}
