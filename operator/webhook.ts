/**
 * Wiring of the admission webhook into the operator process: certificate source, the
 * webhook's caches, the HTTPS server and, in outside-cluster mode (--webhook-url), the
 * URL-based webhook configurations. Kept in this one function so that the operator does
 * not depend on how webhook/ and operator/certs/ are built inside.
 */
import { isIP } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/log.ts';
import {
  type AdmissionSettings,
  defaultAdmissionSettings,
  type NativeSidecarMode,
  sidecarResourcesFrom,
  startAdmissionServer,
  startNamespaceCache,
  startPolicyCache,
} from '../webhook/index.ts';
import {
  registerUrlWebhooks,
  startSelfSignedCertificates,
  type TlsSource,
  watchCertificateDir,
} from './certs/index.ts';
import { KubeClient } from './kube/client.ts';

export interface WebhookServing {
  ready(): boolean;
  close(): Promise<void>;
}

/** The flags this wiring reads (a subset of the operator command's). */
export interface WebhookFlags {
  'operator-namespace': string;
  'webhook-port': number;
  'webhook-url'?: string | undefined;
  'webhook-service': string;
  'mutating-webhook-name': string;
  /** Empty: no validating webhook configuration. */
  'validating-webhook-name': string;
  'cert-secret-name': string;
  'cert-mode': string;
  'cert-dir': string;
  'sidecar-image': string;
  'sidecar-image-pull-policy': string;
  'sidecar-cpu-request': string;
  'sidecar-memory-request': string;
  'sidecar-cpu-limit': string;
  'sidecar-memory-limit': string;
  'sidecar-log-level'?: string | undefined;
  'native-sidecar': string;
  'excluded-namespaces': string[];
}

async function serverVersion(client: KubeClient): Promise<{ major: number; minor: number } | undefined> {
  try {
    const v = await client.request<{ major?: string; minor?: string }>('GET', 'get', '/version', {
      resource: 'version',
    });
    const major = Number.parseInt(v.major ?? '', 10);
    const minor = Number.parseInt(v.minor ?? '', 10);
    return Number.isFinite(major) && Number.isFinite(minor) ? { major, minor } : undefined;
  } catch {
    return undefined;
  }
}

/** Default of --cert-secret-name; the chart passes `<fullname>-webhook-tls`. */
export const DEFAULT_WEBHOOK_TLS_SECRET = 'axom-observer-webhook-tls';

/** The webhook configurations this process looks after, from the name flags. */
function configurationNames(flags: WebhookFlags): { mutating: string[]; validating: string[] } {
  const validating = flags['validating-webhook-name'];
  return { mutating: [flags['mutating-webhook-name']], validating: validating ? [validating] : [] };
}

/** Admission settings from the flags; throws UsageError on bad sidecar resources. */
export function admissionSettingsFromFlags(
  flags: WebhookFlags,
  serverVersion?: { major: number; minor: number },
): AdmissionSettings {
  const logLevel = flags['sidecar-log-level'];
  return defaultAdmissionSettings({
    namespace: flags['operator-namespace'],
    sidecarImage: flags['sidecar-image'],
    sidecarImagePullPolicy: flags['sidecar-image-pull-policy'] as AdmissionSettings['sidecarImagePullPolicy'],
    sidecarResources: sidecarResourcesFrom({
      cpuRequest: flags['sidecar-cpu-request'],
      memoryRequest: flags['sidecar-memory-request'],
      cpuLimit: flags['sidecar-cpu-limit'],
      memoryLimit: flags['sidecar-memory-limit'],
    }),
    nativeSidecar: flags['native-sidecar'] as NativeSidecarMode,
    excludedNamespaces: flags['excluded-namespaces'],
    ...(serverVersion ? { serverVersion } : {}),
    ...(logLevel ? { sidecarLogLevel: logLevel } : {}),
  });
}

interface TlsProvider {
  source: TlsSource;
  /** CA bundle for URL-based registration. */
  caBundle(): string;
  stop(): void;
}

async function tlsProviderFor(
  flags: WebhookFlags,
  kubeConfig: KubeConfig,
  log: Logger,
): Promise<TlsProvider> {
  if (flags['cert-mode'] === 'cert-manager') {
    const dir = await watchCertificateDir({ dir: flags['cert-dir'], log });
    return { source: dir, caBundle: () => dir.current().ca ?? dir.current().cert, stop: () => dir.stop() };
  }
  const url = flags['webhook-url'];
  const host = url ? new URL(url).hostname.replace(/^\[|\]$/g, '') : undefined;
  const isIp = host !== undefined && isIP(host) !== 0;
  const manager = await startSelfSignedCertificates({
    kubeConfig,
    namespace: flags['operator-namespace'],
    secretName: flags['cert-secret-name'],
    serviceName: flags['webhook-service'],
    ...(host && !isIp ? { extraDnsNames: [host] } : {}),
    ...(host && isIp ? { ipAddresses: [host] } : {}),
    // In-cluster, the chart creates the configurations and we keep their caBundle current;
    // outside, registerUrlWebhooks below writes them with the CA.
    ...(url ? {} : { webhooks: configurationNames(flags) }),
    log,
  });
  return { source: manager, caBundle: () => manager.caBundle(), stop: () => manager.stop() };
}

export async function startWebhookServing(
  flags: WebhookFlags,
  kubeConfig: KubeConfig,
  registry: Registry,
  log: Logger,
): Promise<WebhookServing> {
  const client = new KubeClient(kubeConfig, { userAgent: 'axom-observer-webhook' });
  const tls = await tlsProviderFor(flags, kubeConfig, log);
  const policies = startPolicyCache(kubeConfig, { log });
  const namespaces = startNamespaceCache(kubeConfig, { log });
  let server: Awaited<ReturnType<typeof startAdmissionServer>>;
  try {
    await Promise.all([policies.synced(60_000), namespaces.synced(60_000)]);
    const settings = admissionSettingsFromFlags(flags, await serverVersion(client));
    server = await startAdmissionServer({
      port: flags['webhook-port'],
      tls: tls.source,
      settings,
      policies,
      namespaces,
      registry,
      log,
    });
  } catch (err) {
    // Leave nothing running behind a failed start, so the process can exit.
    tls.stop();
    await Promise.all([policies.stop(), namespaces.stop()]);
    await client.close();
    throw err;
  }
  log.info({ url: server.url }, 'admission webhook listening');
  let unsubscribe: (() => void) | undefined;
  const url = flags['webhook-url'];
  if (url) {
    const register = async (): Promise<void> => {
      await registerUrlWebhooks(kubeConfig, {
        url,
        caBundle: tls.caBundle(),
        mutatingName: flags['mutating-webhook-name'],
        validatingName: flags['validating-webhook-name'] || undefined,
        validating: flags['validating-webhook-name'] !== '',
        // Fail open: a pod is never blocked because the operator is away; the controller
        // reports pods that missed their sidecar.
        failurePolicy: 'Ignore',
        excludedNamespaces: [...flags['excluded-namespaces'], flags['operator-namespace']],
      });
      log.info({ url }, 'registered URL-based webhook configurations');
    };
    await register();
    unsubscribe = tls.source.onChange(() => {
      register().catch((err: unknown) =>
        log.error({ err: (err as Error).message }, 'webhook re-registration failed'),
      );
    });
  }
  let closed = false;
  return {
    ready: () => !closed,
    async close() {
      closed = true;
      unsubscribe?.();
      await server.close();
      tls.stop();
      await Promise.all([policies.stop(), namespaces.stop()]);
      await client.close();
    },
  };
}
