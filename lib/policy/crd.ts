/**
 * Builds the CustomResourceDefinition from lib/policy/schema.ts. scripts/generate.ts
 * writes it to crds/observationpolicy.yaml (and the chart's crds/); a test checks that
 * both files are what this function produces, so the CRD and rules.yaml never drift.
 */
import {
  API_GROUP,
  API_VERSION,
  CRD_NAME,
  POLICY_KIND,
  POLICY_PLURAL,
  POLICY_SHORT_NAMES,
  POLICY_SINGULAR,
} from '../names.ts';
import { policySpecSchema, policyStatusSchema, printerColumns } from './schema.ts';

/**
 * apiextensions/v1 forbids `additionalProperties` beside `properties` (unknown fields are
 * pruned, or refused under fieldValidation=Strict), so the CRD copy drops `false` there.
 */
export function toStructural(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toStructural);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'additionalProperties' && v === false) continue;
    // `default` and `enum` values are data, not schema: copy them as they are.
    out[k] = k === 'default' || k === 'enum' ? v : toStructural(v);
  }
  return out;
}

export function buildCrd(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'axom-observer', 'app.kubernetes.io/part-of': 'axom-observer' },
    },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: {
        kind: POLICY_KIND,
        listKind: `${POLICY_KIND}List`,
        plural: POLICY_PLURAL,
        singular: POLICY_SINGULAR,
        shortNames: [...POLICY_SHORT_NAMES],
        categories: ['axom'],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'ObservationPolicy says what the Axom Observer sidecar observes in the pods it applies to: capture, protocols, redaction, rules, LLM metering, export and sidecar settings.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructural(policySpecSchema),
                status: toStructural(policyStatusSchema),
              },
            },
          },
        },
      ],
    },
  };
}
