/**
 * Fixture builders for webhook tests and the benchmark: pods, policies, namespaces and
 * AdmissionReview requests, each a fluent builder starting from a realistic default.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { ANNOTATION_INJECT, API_GROUP_VERSION, POLICY_KIND } from '../../lib/names.ts';
import type { ObservationPolicy, PolicySpec } from '../../lib/policy/index.ts';
import type { NamespaceInfo } from '../types.ts';

export class PodBuilder {
  #pod: V1Pod;

  constructor(name = 'agent-7d9c8b6f5-x2k4q', namespace = 'agents') {
    this.#pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: { app: 'agent' }, annotations: {} },
      spec: { containers: [{ name: 'agent', image: 'example.com/agent:1.0' }] },
    };
  }

  /** A Deployment-made pod: owner reference, several env vars, probes, a volume. */
  static deploymentPod(namespace = 'agents'): PodBuilder {
    const b = new PodBuilder('', namespace);
    const pod = b.#pod;
    pod.metadata = {
      generateName: 'agent-7d9c8b6f5-',
      namespace,
      labels: { app: 'agent', 'pod-template-hash': '7d9c8b6f5', 'app.kubernetes.io/name': 'agent' },
      annotations: {
        [ANNOTATION_INJECT]: 'true',
        'kubectl.kubernetes.io/restartedAt': '2026-11-21T10:00:00Z',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'agent-7d9c8b6f5',
          uid: '6f1c1f0e-8f4e-4a57-9a0e-0b6a3c1d2e3f',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    };
    pod.spec = {
      serviceAccountName: 'agent',
      securityContext: { fsGroup: 1000 },
      containers: [
        {
          name: 'agent',
          image: 'example.com/agent:1.4.2',
          imagePullPolicy: 'IfNotPresent',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'NODE_ENV', value: 'production' },
            { name: 'OPENAI_BASE_URL', value: 'https://api.openai.com/v1' },
            { name: 'OPENAI_API_KEY', valueFrom: { secretKeyRef: { name: 'openai', key: 'api-key' } } },
            { name: 'NODE_OPTIONS', value: '--max-old-space-size=512' },
          ],
          resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: '/live', port: 8080 }, periodSeconds: 10 },
          volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
        },
      ],
      volumes: [{ name: 'cache', emptyDir: {} }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
    };
    return b;
  }

  annotate(key: string, value: string): this {
    this.#pod.metadata ??= {};
    this.#pod.metadata.annotations = { ...(this.#pod.metadata.annotations ?? {}), [key]: value };
    return this;
  }

  inject(value: 'true' | 'false' = 'true'): this {
    return this.annotate(ANNOTATION_INJECT, value);
  }

  label(key: string, value: string): this {
    this.#pod.metadata ??= {};
    this.#pod.metadata.labels = { ...(this.#pod.metadata.labels ?? {}), [key]: value };
    return this;
  }

  container(c: V1Container): this {
    this.#pod.spec?.containers.push(c);
    return this;
  }

  initContainer(c: V1Container): this {
    if (this.#pod.spec) this.#pod.spec.initContainers = [...(this.#pod.spec.initContainers ?? []), c];
    return this;
  }

  /** Sets env on the first container. */
  env(name: string, value: string | { valueFrom: Record<string, unknown> }): this {
    const c = this.#pod.spec?.containers[0];
    if (c) c.env = [...(c.env ?? []), typeof value === 'string' ? { name, value } : { name, ...value }];
    return this;
  }

  hostNetwork(): this {
    if (this.#pod.spec) this.#pod.spec.hostNetwork = true;
    return this;
  }

  build(): V1Pod {
    return structuredClone(this.#pod);
  }
}

export function pod(name?: string, namespace?: string): PodBuilder {
  return new PodBuilder(name, namespace);
}

export function policy(
  name: string,
  namespace: string,
  spec: Partial<PolicySpec> = {},
  createdAt = '2026-01-01T00:00:00Z',
): ObservationPolicy {
  return {
    apiVersion: API_GROUP_VERSION as ObservationPolicy['apiVersion'],
    kind: POLICY_KIND as ObservationPolicy['kind'],
    metadata: { name, namespace, creationTimestamp: createdAt, generation: 1 },
    spec: spec as PolicySpec,
  };
}

export function namespace(
  name: string,
  annotations: Record<string, string> = {},
  labels: Record<string, string> = {},
): NamespaceInfo {
  return { name, annotations, labels: { 'kubernetes.io/metadata.name': name, ...labels } };
}

let uidCounter = 0;

/** An admission.k8s.io/v1 AdmissionReview request, as the API server sends it. */
export class AdmissionReviewBuilder {
  #request: Record<string, unknown>;

  constructor(object: unknown, kind = 'Pod', group = '', version = 'v1') {
    uidCounter++;
    const ns = (object as { metadata?: { namespace?: string } })?.metadata?.namespace;
    const resource = kind === 'Pod' ? 'pods' : 'observationpolicies';
    this.#request = {
      uid: `00000000-0000-4000-8000-${String(uidCounter).padStart(12, '0')}`,
      kind: { group, version, kind },
      resource: { group, version, resource },
      requestKind: { group, version, kind },
      requestResource: { group, version, resource },
      namespace: ns,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        groups: ['system:serviceaccounts'],
      },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    };
  }

  static forPod(p: V1Pod): AdmissionReviewBuilder {
    return new AdmissionReviewBuilder(p);
  }

  static forPolicy(p: ObservationPolicy): AdmissionReviewBuilder {
    return new AdmissionReviewBuilder(p, POLICY_KIND, 'observer.axom.ai', 'v1alpha1');
  }

  uid(uid: string): this {
    this.#request.uid = uid;
    return this;
  }

  operation(op: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'): this {
    this.#request.operation = op;
    return this;
  }

  namespace(ns: string): this {
    this.#request.namespace = ns;
    return this;
  }

  dryRun(on = true): this {
    this.#request.dryRun = on;
    return this;
  }

  get uidValue(): string {
    return this.#request.uid as string;
  }

  build(): { apiVersion: string; kind: string; request: Record<string, unknown> } {
    return {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: structuredClone(this.#request),
    };
  }
}
