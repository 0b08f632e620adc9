/**
 * `/validate-observationpolicy`: what the CRD's OpenAPI schema cannot say (regexes that do
 * not compile, CEL conditions that do not type-check against the signal, malformed
 * JSONPath, duplicate names) refused at `kubectl apply` time, with the field of each
 * problem. The same `validatePolicySpec` runs in the controller.
 */

import type { Logger } from '../lib/log.ts';
import { validatePolicySpec } from '../lib/policy/index.ts';
import { type AdmissionRequest, type AdmissionResponse, allow, deny } from './review.ts';

export type ValidateResult = 'policy_accepted' | 'policy_rejected' | 'ignored_operation' | 'error';

export interface PolicyAdmission {
  response: AdmissionResponse;
  result: ValidateResult;
}

export function admitPolicy(req: AdmissionRequest, log: Logger): PolicyAdmission {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') {
    return { response: allow(req.uid), result: 'ignored_operation' };
  }
  const name = (req.object.metadata as { name?: string } | undefined)?.name ?? req.name ?? '';
  try {
    // validatePolicySpec fills defaults in place; work on a copy so the request stays as sent.
    const issues = validatePolicySpec(structuredClone(req.object.spec));
    if (issues.length === 0) return { response: allow(req.uid), result: 'policy_accepted' };
    const details = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return {
      response: deny(req.uid, `ObservationPolicy ${JSON.stringify(name)} is invalid: ${details}`),
      result: 'policy_rejected',
    };
  } catch (err) {
    // A bug in validation must not lock users out of their policies; the controller
    // validates again and reports RulesValid=False on the policy itself.
    log.error({ err, uid: req.uid }, 'policy validation failed; admitted');
    return {
      response: allow(req.uid, undefined, [
        'axom-observer: policy validation failed with an internal error; not checked',
      ]),
      result: 'error',
    };
  }
}
