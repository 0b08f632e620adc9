/**
 * The few API calls certificate management makes: the certificate Secret (create-or-adopt,
 * optimistic replace) and the caBundle of our webhook configurations.
 */
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1Secret,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';

/** HTTP status of a client-node ApiException, if it is one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusOf(err) === 409;

/** Secret keys: the usual TLS trio plus the CA key that lets any replica re-issue. */
export const SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt', caKey: 'ca.key' } as const;

export interface StoredCertificates {
  cert: string;
  key: string;
  /** CA bundle: the current CA first, then older ones still trusted. */
  ca: string;
  caKey: string;
  resourceVersion?: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

export class CertificateSecretStore {
  readonly #core: CoreV1Api;
  readonly namespace: string;
  readonly name: string;

  constructor(kubeConfig: KubeConfig, namespace: string, name: string) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = namespace;
    this.name = name;
  }

  async read(): Promise<StoredCertificates | undefined> {
    let secret: V1Secret;
    try {
      secret = await this.#core.readNamespacedSecret({ name: this.name, namespace: this.namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const d = secret.data ?? {};
    return {
      cert: unb64(d[SECRET_KEYS.cert]),
      key: unb64(d[SECRET_KEYS.key]),
      ca: unb64(d[SECRET_KEYS.ca]),
      caKey: unb64(d[SECRET_KEYS.caKey]),
      resourceVersion: secret.metadata?.resourceVersion,
    };
  }

  #body(c: StoredCertificates, resourceVersion?: string): V1Secret {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'axom-observer', 'app.kubernetes.io/component': 'webhook' },
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      data: {
        [SECRET_KEYS.cert]: b64(c.cert),
        [SECRET_KEYS.key]: b64(c.key),
        [SECRET_KEYS.ca]: b64(c.ca),
        [SECRET_KEYS.caKey]: b64(c.caKey),
      },
    };
  }

  /** Creates the Secret; returns false when another replica created it first (409). */
  async create(c: StoredCertificates): Promise<boolean> {
    try {
      await this.#core.createNamespacedSecret({ namespace: this.namespace, body: this.#body(c) });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Replaces the Secret if nobody changed it since `resourceVersion`; false on a lost race. */
  async replace(c: StoredCertificates, resourceVersion: string): Promise<boolean> {
    try {
      await this.#core.replaceNamespacedSecret({
        name: this.name,
        namespace: this.namespace,
        body: this.#body(c, resourceVersion),
      });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}

export interface WebhookConfigurationNames {
  mutating?: readonly string[];
  validating?: readonly string[];
}

export interface CaBundleResult {
  updated: string[];
  unchanged: string[];
  missing: string[];
}

type AnyWebhookConfiguration = V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration;

/**
 * Writes `caBundle` into every webhook of the named configurations, only where it differs.
 * A configuration that does not exist (yet) is reported, not an error: the chart may not
 * have created it, and the next sync tries again.
 */
export async function injectCaBundle(
  kubeConfig: KubeConfig,
  names: WebhookConfigurationNames,
  caBundlePem: string,
): Promise<CaBundleResult> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const bundle = b64(caBundlePem);
  const result: CaBundleResult = { updated: [], unchanged: [], missing: [] };
  const one = async (
    name: string,
    read: () => Promise<AnyWebhookConfiguration>,
    replace: (body: AnyWebhookConfiguration) => Promise<unknown>,
  ): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      let cfg: AnyWebhookConfiguration;
      try {
        cfg = await read();
      } catch (err) {
        if (isNotFound(err)) {
          result.missing.push(name);
          return;
        }
        throw err;
      }
      const hooks = cfg.webhooks ?? [];
      if (hooks.every((w) => w.clientConfig.caBundle === bundle)) {
        result.unchanged.push(name);
        return;
      }
      for (const w of hooks) w.clientConfig.caBundle = bundle;
      try {
        await replace(cfg);
        result.updated.push(name);
        return;
      } catch (err) {
        // Someone else changed it in between (another replica, helm): read again.
        if (!isConflict(err) || attempt >= 4) throw err;
      }
    }
  };
  for (const name of names.mutating ?? []) {
    await one(
      name,
      () => api.readMutatingWebhookConfiguration({ name }),
      (body) =>
        api.replaceMutatingWebhookConfiguration({ name, body: body as V1MutatingWebhookConfiguration }),
    );
  }
  for (const name of names.validating ?? []) {
    await one(
      name,
      () => api.readValidatingWebhookConfiguration({ name }),
      (body) =>
        api.replaceValidatingWebhookConfiguration({ name, body: body as V1ValidatingWebhookConfiguration }),
    );
  }
  return result;
}
