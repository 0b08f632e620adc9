import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { PolicyInvalidError, RulesFileError, UsageError } from '../../lib/errors.ts';
import { POLICY_KIND } from '../../lib/names.ts';
import type { ObservationPolicy } from '../../lib/policy/index.ts';
import {
  parseRulesFile,
  renderRulesFile,
  rulesHash,
  serializeRules,
  validatePolicySpec,
} from '../../lib/policy/index.ts';
import { defineCommand } from '../command.ts';

function loadDocuments(file: string): unknown[] {
  const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  try {
    return yaml.loadAll(text, { filename: file }).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw new RulesFileError(file, (err as Error).message.split('\n')[0] ?? 'not YAML');
  }
}

function isPolicy(doc: unknown): doc is ObservationPolicy {
  return typeof doc === 'object' && doc !== null && (doc as { kind?: unknown }).kind === POLICY_KIND;
}

/** Every policy in the files is validated; a document without `kind` is taken as rules.yaml. */
function validate(files: string[]): number {
  let bad = 0;
  for (const file of files) {
    for (const doc of loadDocuments(file)) {
      const label = isPolicy(doc)
        ? `${file}: ObservationPolicy ${doc.metadata?.name ?? '(no name)'}`
        : `${file}: rules`;
      const issues = isPolicy(doc)
        ? validatePolicySpec(doc.spec ?? {})
        : (() => {
            try {
              parseRulesFile(yaml.dump(doc), file);
              return [];
            } catch (err) {
              if (err instanceof PolicyInvalidError) return err.issues;
              throw err;
            }
          })();
      if (issues.length === 0) {
        process.stdout.write(`${label}: valid\n`);
      } else {
        bad++;
        process.stdout.write(
          `${label}: invalid\n${issues.map((i) => `  ${i.path}: ${i.message}\n`).join('')}`,
        );
      }
    }
  }
  return bad ? 1 : 0;
}

function render(files: string[]): number {
  const policies = files.flatMap(loadDocuments).filter(isPolicy);
  if (policies.length !== 1)
    throw new UsageError(`render needs exactly one ObservationPolicy, found ${policies.length}`);
  const policy = policies[0]!;
  policy.metadata.namespace ??= 'default';
  const text = serializeRules(renderRulesFile(policy));
  process.stdout.write(`# rules hash ${rulesHash(text)}\n${text}`);
  return 0;
}

export const command = defineCommand({
  name: 'policy',
  summary: 'validate an ObservationPolicy or rules.yaml, or render a policy to rules.yaml',
  usage: 'axom-observer policy validate FILE... | axom-observer policy render FILE',
  description:
    'validate: checks ObservationPolicy manifests (the same checks as the admission webhook) and rules.yaml files, naming each bad field; exits 1 if any is invalid.\nrender: prints the rules.yaml the controller would render for one policy. FILE may be - for standard input.',
  flags: {},
  allowPositionals: true,
  async run(_values, positionals) {
    const [action, ...files] = positionals;
    if (!files.length)
      throw new UsageError("policy needs an action and at least one FILE; see 'axom-observer policy --help'");
    if (action === 'validate') return validate(files);
    if (action === 'render') return render(files);
    throw new UsageError(`unknown policy action ${JSON.stringify(action)}; use validate or render`);
  },
});
