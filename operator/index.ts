/**
 * The operator: ObservationPolicy controller, leader election, metrics; the admission webhook
 * is wired in by ./command.ts. Public surface for the CLI, tests and benchmarks:
 *
 *   const op = await startOperator({ kubeConfig, logger, namespaces: [], operatorNamespace, ... });
 *   op.isLeader(); op.controller()?.queue; op.metrics.registry;  await op.stop();
 */
export { backendAllowed, parseBackendPrefix } from './controller/backends.ts';
export {
  CONDITION_READY,
  CONDITION_RULES_VALID,
  CONDITION_SECRET_READY,
  mergeConditions,
} from './controller/conditions.ts';
export { type ControllerOptions, PolicyController } from './controller/controller.ts';
export { type CentralSecret, centralKeyRefusal, Reconciler } from './controller/reconcile.ts';
export {
  ANNOTATION_API_KEY_SOURCE,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  MANAGED_SELECTOR,
  POLICY_LABEL,
} from './controller/render.ts';
export { KubeClient, type RequestObserver, type Verb, WRITE_VERBS } from './kube/client.ts';
export { Informer, type InformerOptions } from './kube/informer.ts';
export { LeaderElector, type LeaderElectorOptions } from './leader/lease.ts';
export { OperatorMetrics } from './metrics.ts';
export { type Operator, type OperatorConfig, startOperator } from './operator.ts';
export { TokenBucket } from './queue/ratelimit.ts';
export { WorkQueue, type WorkQueueOptions } from './queue/workqueue.ts';
