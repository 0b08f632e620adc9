/** The ObservationPolicy and rules.yaml contract, shared by operator, webhook and sidecar. */

export { type CompiledCondition, compileCondition } from './cel.ts';
export { type CompiledJsonPath, compileJsonPath, JsonPathSyntaxError } from './jsonpath.ts';
export {
  defaultRulesFile,
  normalizeSpec,
  parseRulesFile,
  renderRulesFile,
  rulesHash,
  serializeRules,
} from './render.ts';
export {
  policySpecSchema,
  policyStatusSchema,
  printerColumns,
  rulesFileSchema,
  rulesSchema,
} from './schema.ts';
export type * from './types.ts';
export { extractSource } from './types.ts';
export { LABEL_SOURCE_FIELDS, validatePolicySpec, validateRulesDocument } from './validate.ts';
