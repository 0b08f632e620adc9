/** Names and contracts shared by every part; the source is ../shared/DESIGN.md (Names). */

export const API_GROUP = 'observer.axom.ai';
export const API_VERSION = 'v1alpha1';
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;
export const POLICY_KIND = 'ObservationPolicy';
export const POLICY_PLURAL = 'observationpolicies';
export const POLICY_SINGULAR = 'observationpolicy';
export const POLICY_SHORT_NAMES = ['obspol'] as const;
export const CRD_NAME = `${POLICY_PLURAL}.${API_GROUP}`;

export const ANNOTATION_INJECT = `${API_GROUP}/inject`;
export const ANNOTATION_POLICY = `${API_GROUP}/policy`;
export const ANNOTATION_STATUS = `${API_GROUP}/status`;
export const ANNOTATION_CONFIG_HASH = `${API_GROUP}/config-hash`;
/** Per-pod override of the native-sidecar mode (`auto` | `always` | `never`). */
export const ANNOTATION_NATIVE_SIDECAR = `${API_GROUP}/native-sidecar`;

export const SIDECAR_CONTAINER_NAME = 'axom-observer';
export const SIDECAR_PORT = 2112;
export const SIDECAR_PATHS = { metrics: '/metrics', healthz: '/healthz', readyz: '/readyz' } as const;

export const RULES_DIR = '/etc/axom';
export const RULES_PATH = '/etc/axom/rules.yaml';
export const SECRET_DIR = '/etc/axom/secret';
export const API_KEY_PATH = '/etc/axom/secret/api-key';
export const API_KEY_SECRET_KEY = 'api-key';
export const RULES_CONFIGMAP_KEY = 'rules.yaml';

export const TLS_KEYLOG_DIR = '/var/run/axom/tls';
export const TLS_KEYLOG_PATH = '/var/run/axom/tls/keylog';

export const ENV = {
  apiKey: 'AXOM_API_KEY',
  backendUrl: 'AXOM_BACKEND_URL',
  rules: 'AXOM_RULES',
  batchSize: 'AXOM_BATCH_SIZE',
  flushInterval: 'AXOM_FLUSH_INTERVAL',
  podName: 'AXOM_POD_NAME',
  podNamespace: 'AXOM_POD_NAMESPACE',
  nodeName: 'AXOM_NODE_NAME',
} as const;

export const OPERATOR_WEBHOOK_PORT = 9443;
export const OPERATOR_METRICS_PORT = 8080;
export const WEBHOOK_MUTATE_PATH = '/mutate-v1-pod';
export const WEBHOOK_VALIDATE_PATH = '/validate-observationpolicy';

export const METRIC_PREFIX = 'axom_';

/** Names of the objects the controller renders for a policy. */
export const rulesConfigMapName = (policy: string): string => `${policy}-axom-rules`;
export const apiKeySecretName = (policy: string): string => `${policy}-axom-api-key`;
