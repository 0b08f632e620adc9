/**
 * Webhook serving certificates. Public API for the operator command:
 *
 *   // default: self-provisioned CA + serving certificate in a Secret, rotated at 2/3 of life
 *   const tls = await startSelfSignedCertificates({ kubeConfig, namespace, secretName: 'axom-observer-webhook-tls',
 *     serviceName: 'axom-observer-webhook', webhooks: { mutating: ['axom-observer'], validating: ['axom-observer'] }, log });
 *   // or cert-manager: a mounted Secret directory, reloaded when it changes
 *   const tls = await watchCertificateDir({ dir: '/etc/axom/webhook-tls', log });
 *   // outside the cluster (--webhook-url): URL-based configurations with our CA
 *   await registerUrlWebhooks(kubeConfig, { url, caBundle: tls.caBundle(), failurePolicy: 'Ignore', excludedNamespaces });
 *
 * Every mode is a TlsSource that startAdmissionServer (webhook/) follows without restarting.
 */
export { type CertificateDirOptions, type CertificateDirSource, watchCertificateDir } from './directory.ts';
export {
  type CertificateInfo,
  generateCa,
  inspectCertificate,
  issueServingCertificate,
  type KeyPairPem,
  renewalTime,
  serviceDnsNames,
  splitPemBundle,
  verifyPair,
} from './generate.ts';
export {
  type CaBundleResult,
  CertificateSecretStore,
  injectCaBundle,
  SECRET_KEYS,
  type WebhookConfigurationNames,
} from './kube.ts';
export {
  DEFAULT_WEBHOOK_CONFIGURATION_NAME,
  MUTATING_WEBHOOK_NAME,
  mutatingWebhookConfiguration,
  registerUrlWebhooks,
  unregisterWebhooks,
  VALIDATING_WEBHOOK_NAME,
  validatingWebhookConfiguration,
  type WebhookConfigurationOptions,
} from './register.ts';
export {
  type CertificateManager,
  type SelfSignedOptions,
  startSelfSignedCertificates,
} from './self-signed.ts';
export { MutableTlsSource, staticTlsSource, type TlsMaterial, type TlsSource } from './source.ts';
