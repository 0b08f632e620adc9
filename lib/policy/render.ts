/**
 * ObservationPolicy → rules.yaml, and rules.yaml → validated RulesFile. Rendering is
 * deterministic (sorted keys, no anchors, fixed line width) so the hash moves only when
 * the content does; the controller compares hashes instead of writing blindly.
 */
import { createHash } from 'node:crypto';
import * as yaml from 'js-yaml';
import { PolicyInvalidError, RulesFileError } from '../errors.ts';
import { API_KEY_PATH, TLS_KEYLOG_PATH } from '../names.ts';
import type { ObservationPolicy, PolicySpec, RulesFile } from './types.ts';
import { validatePolicySpec, validateRulesDocument } from './validate.ts';

/** A copy of `spec` with every default filled in; throws PolicyInvalidError when invalid. */
export function normalizeSpec(spec: unknown): PolicySpec {
  const copy = structuredClone(spec ?? {});
  const issues = validatePolicySpec(copy);
  if (issues.length) throw new PolicyInvalidError(issues);
  return copy as PolicySpec;
}

export function renderRulesFile(policy: Pick<ObservationPolicy, 'metadata' | 'spec'>): RulesFile {
  const spec = normalizeSpec(policy.spec);
  const { apiKey, ...exportRest } = spec.export;
  const rules: RulesFile = {
    version: 1,
    policy: {
      name: policy.metadata.name,
      namespace: policy.metadata.namespace,
      ...(policy.metadata.generation !== undefined ? { generation: policy.metadata.generation } : {}),
    },
    capture: {
      ...spec.capture,
      ...(spec.sidecar.tlsKeyLog ? { tlsKeyLog: { path: TLS_KEYLOG_PATH, waitMs: 2000 } } : {}),
    },
    protocols: spec.protocols,
    redaction: spec.redaction,
    rules: spec.rules,
    llm: spec.llm,
    export: { ...exportRest, ...(apiKey.source !== 'None' ? { apiKeyFile: API_KEY_PATH } : {}) },
    system: spec.system,
  };
  return rules;
}

/** Deterministic YAML text of a rules file. */
export function serializeRules(rules: RulesFile): string {
  return yaml.dump(rules, { sortKeys: true, lineWidth: -1, noRefs: true });
}

/** First 16 hex digits of the SHA-256 of the rendered text. */
export function rulesHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Parses, validates and defaults rules.yaml text; errors name the file and the field. */
export function parseRulesFile(text: string, source = 'rules.yaml'): RulesFile {
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: source });
  } catch (err) {
    throw new RulesFileError(source, (err as Error).message.split('\n')[0] ?? 'not YAML', { cause: err });
  }
  if (doc === undefined || doc === null) throw new RulesFileError(source, 'the file is empty');
  const issues = validateRulesDocument(doc);
  if (issues.length) throw new PolicyInvalidError(issues, `rules file ${source}`);
  return doc as RulesFile;
}

/** The sidecar's built-in rules when no policy applies: metrics only, no export. */
export function defaultRulesFile(): RulesFile {
  return parseRulesFile('version: 1\n', '(built-in defaults)');
}
