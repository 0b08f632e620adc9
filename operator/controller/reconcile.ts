/**
 * One reconcile of one ObservationPolicy: validate, render the rules ConfigMap and the
 * API-key Secret, write status. Everything is read from the informers' caches and written
 * only when it differs, so a reconcile of an up-to-date policy makes no API call at all.
 */
import { KubeApiError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { apiKeySecretName, rulesConfigMapName } from '../../lib/names.ts';
import { renderRulesFile, rulesHash, serializeRules, validatePolicySpec } from '../../lib/policy/index.ts';
import type { ApiKeySource, ObservationPolicy, PolicyStatus } from '../../lib/policy/types.ts';
import type { KubeClient } from '../kube/client.ts';
import { isAlreadyExists, isNotFound } from '../kube/client.ts';
import type { Informer } from '../kube/informer.ts';
import type { ConfigMap, KubeObject, Secret } from '../kube/types.ts';
import { RESOURCES } from '../kube/types.ts';
import { backendAllowed } from './backends.ts';
import type { DesiredCondition } from './conditions.ts';
import {
  CONDITION_READY,
  CONDITION_RULES_VALID,
  CONDITION_SECRET_READY,
  findCondition,
  mergeConditions,
  nowRfc3339,
} from './conditions.ts';
import type { EventSink } from './events.ts';
import {
  applyDesired,
  desiredConfigMap,
  desiredSecret,
  diffRendered,
  isManaged,
  ownerKey,
} from './render.ts';

export interface CentralSecret {
  namespace: string;
  name: string;
  key: string;
  /**
   * URL prefixes (`--central-secret-backends`) that may receive the central key; empty means
   * the central key is never copied (see backends.ts).
   */
  allowedBackends: readonly string[];
}

export interface ReconcilerDeps {
  client: KubeClient;
  policies: Informer<ObservationPolicy & KubeObject>;
  configMaps: Informer<ConfigMap>;
  secrets: Informer<Secret>;
  events: EventSink;
  central: CentralSecret;
  logger: Logger;
  now?: () => string;
}

export type WriteKind = 'configmap' | 'secret' | 'status';
export interface ReconcileResult {
  /** What was written (empty in steady state). */
  writes: WriteKind[];
  ready: boolean;
}

/** A reconcile failure with a short reason for the errors metric. */
export class ReconcileError extends KubeApiError {
  readonly stage: string;
  constructor(stage: string, err: unknown) {
    const e = err as Partial<KubeApiError>;
    super(`${stage}: ${(err as Error).message}`, e.statusCode, e.reason ?? 'Unknown', { cause: err });
    this.stage = stage;
  }
}

const MAX_MESSAGE = 4096;

/** Where a policy's API key comes from, as a cache key `namespace/name`, or undefined for none. */
export function apiKeySourceOf(
  policy: ObservationPolicy,
  central: CentralSecret,
): { namespace: string; name: string; key: string } | undefined {
  const src: ApiKeySource = policy.spec?.export?.apiKey ?? { source: 'Central' };
  if (src.source === 'None') return undefined;
  if (src.source === 'Secret') {
    if (!src.secretRef) return undefined;
    return { namespace: policy.metadata.namespace, name: src.secretRef.name, key: src.secretRef.key };
  }
  return { namespace: central.namespace, name: central.name, key: central.key };
}

/** Why the central key is not copied for a policy, or undefined when it may be. */
export interface CentralKeyRefusal {
  /** False: the key is not needed (export is off), so SecretReady stays True. */
  needed: boolean;
  reason: 'NotRequired' | 'BackendNotAllowed';
  message: string;
}

/**
 * The central key goes only to backends an administrator listed: a namespace user must not
 * be able to send the organisation's key to a host of their choosing. A policy that does not
 * export needs no key, so none is copied for it either.
 */
export function centralKeyRefusal(
  policy: ObservationPolicy,
  allowedBackends: readonly string[],
): CentralKeyRefusal | undefined {
  const exp = policy.spec?.export;
  if (exp?.enabled !== true) {
    return {
      needed: false,
      reason: 'NotRequired',
      message: 'export is disabled: the central API key is not copied',
    };
  }
  if (backendAllowed(exp.backendUrl, allowedBackends)) return undefined;
  const url = exp.backendUrl ? JSON.stringify(exp.backendUrl) : '(unset)';
  const how =
    allowedBackends.length === 0
      ? 'no backend is allowed to receive the central API key'
      : `allowed: ${allowedBackends.join(', ')}`;
  return {
    needed: true,
    reason: 'BackendNotAllowed',
    message:
      `spec.export.backendUrl ${url} is not allowed to receive the central API key (${how}); ` +
      'an administrator can allow it with the operator flag --central-secret-backends ' +
      '(chart value centralApiKey.allowedBackends), or use apiKey.source Secret with your own key',
  };
}

export class Reconciler {
  private readonly d: ReconcilerDeps;
  private readonly now: () => string;
  /** source Secret key → policies rendering from it (re-render on change). */
  private readonly bySource = new Map<string, Set<string>>();
  private readonly sourceOfPolicy = new Map<string, string>();

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
    this.now = deps.now ?? (() => nowRfc3339());
  }

  /** Policies whose Secret is rendered from the Secret `namespace/name`. */
  policiesUsingSource(secretKey: string): readonly string[] {
    return [...(this.bySource.get(secretKey) ?? [])];
  }

  private index(policyKey: string, sourceKey: string | undefined): void {
    const prev = this.sourceOfPolicy.get(policyKey);
    if (prev === sourceKey) return;
    if (prev !== undefined) {
      const set = this.bySource.get(prev);
      set?.delete(policyKey);
      if (set?.size === 0) this.bySource.delete(prev);
    }
    if (sourceKey === undefined) {
      this.sourceOfPolicy.delete(policyKey);
      return;
    }
    this.sourceOfPolicy.set(policyKey, sourceKey);
    const set = this.bySource.get(sourceKey) ?? new Set<string>();
    this.bySource.set(sourceKey, set);
    set.add(policyKey);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const policy = this.d.policies.get(namespace, name);
    if (!policy || policy.metadata.deletionTimestamp) {
      // Rendered objects carry controller owner references: the garbage collector removes them.
      this.index(key, undefined);
      return { writes: [], ready: false };
    }
    const writes: WriteKind[] = [];
    const generation = policy.metadata.generation;
    const status: PolicyStatus = policy.status ?? {};
    const conditions: DesiredCondition[] = [];

    // --- rules ------------------------------------------------------------------------------
    // validatePolicySpec fills defaults in place: never hand it the cached object.
    const issues = validatePolicySpec(structuredClone(policy.spec ?? {}));
    let configMapName = status.configMapName;
    let hash = status.rulesHash;
    const rulesValid = issues.length === 0;
    if (!rulesValid) {
      const message = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
      conditions.push(cond(CONDITION_RULES_VALID, 'False', 'InvalidSpec', message));
      this.transitionEvent(policy, CONDITION_RULES_VALID, 'False', 'Warning', 'InvalidSpec', message);
    } else {
      const text = serializeRules(renderRulesFile(policy));
      hash = rulesHash(text);
      const desired = desiredConfigMap(policy, text, hash);
      const written = await this.ensure('configmap', this.d.configMaps, RESOURCES.configMaps, desired);
      configMapName = desired.metadata.name;
      if (written) {
        writes.push('configmap');
        this.d.events.emit(
          policy,
          'Normal',
          written === 'created' ? 'RulesRendered' : 'RulesUpdated',
          `${written === 'created' ? 'rendered' : 'updated'} ConfigMap ${configMapName} (rules hash ${hash})`,
        );
      }
      conditions.push(
        cond(
          CONDITION_RULES_VALID,
          'True',
          'Rendered',
          `rules.yaml rendered into ConfigMap ${configMapName}`,
        ),
      );
    }

    // --- API key ----------------------------------------------------------------------------
    const isCentral = (policy.spec?.export?.apiKey?.source ?? 'Central') === 'Central';
    const refusal = isCentral ? centralKeyRefusal(policy, this.d.central.allowedBackends) : undefined;
    const source = refusal ? undefined : apiKeySourceOf(policy, this.d.central);
    const sourceKey = source ? `${source.namespace}/${source.name}` : undefined;
    this.index(key, sourceKey);
    let secretName: string | undefined;
    let secretReady = true;
    const exportEnabled = policy.spec?.export?.enabled === true;
    let keyInPlace = false;
    if (refusal) {
      // Also removes a Secret copied before the backend changed or the allow list shrank.
      await this.removeSecret(
        policy,
        refusal.reason === 'NotRequired' ? 'export is disabled' : 'backend not allowed',
      );
      secretReady = !refusal.needed;
      conditions.push(
        cond(CONDITION_SECRET_READY, refusal.needed ? 'False' : 'True', refusal.reason, refusal.message),
      );
      if (refusal.needed) {
        this.transitionEvent(
          policy,
          CONDITION_SECRET_READY,
          'False',
          'Warning',
          refusal.reason,
          refusal.message,
        );
      }
    } else if (!source) {
      await this.removeSecret(policy, 'no API key source');
      conditions.push(
        cond(CONDITION_SECRET_READY, 'True', 'NotRequired', 'spec.export.apiKey.source is None'),
      );
    } else {
      const what = `${isCentral ? 'central ' : ''}Secret ${sourceKey}`;
      const src = this.d.secrets.get(source.namespace, source.name);
      const value = src?.data?.[source.key];
      if (!src) {
        secretReady = false;
        conditions.push(cond(CONDITION_SECRET_READY, 'False', 'SourceNotFound', `${what} not found`));
      } else if (!value) {
        secretReady = false;
        conditions.push(
          cond(CONDITION_SECRET_READY, 'False', 'KeyNotFound', `${what} has no key ${source.key}`),
        );
      } else {
        const desired = desiredSecret(policy, value, `${sourceKey}#${source.key}`);
        const written = await this.ensure('secret', this.d.secrets, RESOURCES.secrets, desired);
        secretName = desired.metadata.name;
        keyInPlace = true;
        if (written) {
          writes.push('secret');
          this.d.events.emit(
            policy,
            'Normal',
            written === 'created' ? 'SecretRendered' : 'SecretUpdated',
            `${written === 'created' ? 'copied' : 'updated'} the API key from ${what} into Secret ${secretName}`,
          );
        }
        conditions.push(
          cond(
            CONDITION_SECRET_READY,
            'True',
            'Copied',
            `API key copied from ${what} into Secret ${secretName}`,
          ),
        );
      }
      if (!secretReady) {
        const c = conditions.at(-1) as DesiredCondition;
        this.transitionEvent(policy, CONDITION_SECRET_READY, 'False', 'Warning', c.reason, c.message);
        // Keep a Secret rendered earlier: pods keep their key until the source is back.
        if (this.d.secrets.get(policy.metadata.namespace, apiKeySecretName(policy.metadata.name))) {
          secretName = apiKeySecretName(policy.metadata.name);
        }
      }
    }

    // --- Ready ------------------------------------------------------------------------------
    // Without export the key is not needed, so a missing key does not make the policy unready.
    const ready = rulesValid && (secretReady || !exportEnabled);
    if (ready) {
      conditions.unshift(
        cond(
          CONDITION_READY,
          'True',
          'Reconciled',
          keyInPlace
            ? 'rules and API key are in place'
            : exportEnabled
              ? 'rules are in place (no API key configured)'
              : 'rules are in place (export is off, no API key needed)',
        ),
      );
    } else {
      const why = !rulesValid ? 'InvalidSpec' : 'SecretNotReady';
      conditions.unshift(
        cond(
          CONDITION_READY,
          'False',
          why,
          !rulesValid
            ? 'the spec is invalid; see RulesValid'
            : 'the API key is not available; see SecretReady',
        ),
      );
    }
    if (ready)
      this.transitionEvent(
        policy,
        CONDITION_READY,
        'True',
        'Normal',
        'Ready',
        'policy is ready',
        'Reconciled',
      );

    // --- status -----------------------------------------------------------------------------
    const next: PolicyStatus = {
      observedGeneration: generation,
      conditions: mergeConditions(status.conditions, conditions, generation, this.now()),
    };
    if (configMapName && (rulesValid || this.d.configMaps.get(namespace, rulesConfigMapName(name)))) {
      next.configMapName = configMapName;
    }
    if (secretName) next.secretName = secretName;
    if (hash && next.configMapName) next.rulesHash = hash;
    if (!sameStatus(status, next)) {
      const patch = {
        status: {
          ...next,
          // merge patch: null removes what no longer applies
          configMapName: next.configMapName ?? null,
          secretName: next.secretName ?? null,
          rulesHash: next.rulesHash ?? null,
        },
      };
      try {
        const updated = await this.d.client.mergePatch<ObservationPolicy & KubeObject>(
          RESOURCES.policies,
          namespace,
          name,
          patch,
          'status',
        );
        this.d.policies.assume(updated);
      } catch (err) {
        if (isNotFound(err)) return { writes, ready: false };
        throw new ReconcileError('status', err);
      }
      writes.push('status');
    }
    return { writes, ready };
  }

  /** An Event when condition `type` is about to move to `status` (not on every reconcile). */
  private transitionEvent(
    policy: ObservationPolicy,
    type: string,
    status: 'True' | 'False',
    eventType: 'Normal' | 'Warning',
    reason: string,
    message: string,
    conditionReason = reason,
  ): void {
    const prev = findCondition(policy.status?.conditions, type);
    // Once per change of status or reason: a reconcile that finds the same state says nothing.
    if (prev?.status === status && prev.reason === conditionReason) return;
    this.d.events.emit(policy, eventType, reason, message);
  }

  /** Creates or updates a rendered object; returns what it wrote, or undefined when nothing. */
  private async ensure<T extends ConfigMap | Secret>(
    stage: 'configmap' | 'secret',
    cache: Informer<T>,
    rt: (typeof RESOURCES)['configMaps' | 'secrets'],
    desired: T,
  ): Promise<'created' | 'updated' | undefined> {
    const ns = desired.metadata.namespace;
    const name = desired.metadata.name;
    let live = cache.get(ns, name);
    try {
      if (!live) {
        try {
          const created = await this.d.client.create<T>(rt, ns, desired);
          cache.assume(created);
          return 'created';
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          // Not in our cache: either not ours (no managed-by label), or the cache lags.
          live = await this.d.client.get<T>(rt, ns, name);
          if (!isManaged(live)) {
            throw new KubeApiError(
              `${rt.kind} ${ns}/${name} exists and is not managed by axom-observer; rename or delete it`,
              409,
              'NameConflict',
            );
          }
        }
      }
      if (diffRendered(live, desired).length === 0) return undefined;
      const updated = await this.d.client.replace<T>(rt, applyDesired(live, desired));
      cache.assume(updated);
      return 'updated';
    } catch (err) {
      throw new ReconcileError(stage, err);
    }
  }

  private async removeSecret(policy: ObservationPolicy, why: string): Promise<void> {
    const name = apiKeySecretName(policy.metadata.name);
    const live = this.d.secrets.get(policy.metadata.namespace, name);
    if (
      !live ||
      !isManaged(live) ||
      ownerKey(live) !== `${policy.metadata.namespace}/${policy.metadata.name}`
    )
      return;
    try {
      await this.d.client.delete(RESOURCES.secrets, policy.metadata.namespace, name, {
        uid: live.metadata.uid,
      });
      this.d.events.emit(policy, 'Normal', 'SecretRemoved', `removed Secret ${name}: ${why}`);
    } catch (err) {
      if (!isNotFound(err)) throw new ReconcileError('secret', err);
    }
  }
}

function cond(type: string, status: 'True' | 'False', reason: string, message: string): DesiredCondition {
  return { type, status, reason, message: message.slice(0, MAX_MESSAGE) };
}

function sameStatus(a: PolicyStatus, b: PolicyStatus): boolean {
  if (a.observedGeneration !== b.observedGeneration) return false;
  if (a.configMapName !== b.configMapName || a.secretName !== b.secretName || a.rulesHash !== b.rulesHash)
    return false;
  const ac = a.conditions ?? [];
  const bc = b.conditions ?? [];
  if (ac.length !== bc.length) return false;
  for (let i = 0; i < ac.length; i++) {
    const x = ac[i];
    const y = bc[i];
    if (
      !x ||
      !y ||
      x.type !== y.type ||
      x.status !== y.status ||
      x.reason !== y.reason ||
      x.message !== y.message ||
      x.lastTransitionTime !== y.lastTransitionTime ||
      x.observedGeneration !== y.observedGeneration
    ) {
      return false;
    }
  }
  return true;
}
