/**
 * TLS key-log injection (policy `spec.sidecar.tlsKeyLog`): an in-memory volume shared by
 * every container, `SSLKEYLOGFILE` for OpenSSL-style runtimes and `--tls-keylog` in
 * NODE_OPTIONS for Node.js, so the sidecar can decrypt the pod's own TLS sessions.
 * The app's own settings are never overwritten: a literal NODE_OPTIONS is extended,
 * one from valueFrom/envFrom or a different SSLKEYLOGFILE is left alone with a warning.
 */
import type { V1Container, V1EnvVar } from '@kubernetes/client-node';
import { SIDECAR_CONTAINER_NAME, TLS_KEYLOG_DIR, TLS_KEYLOG_PATH } from '../../lib/names.ts';
import type { Mutator } from '../types.ts';
import { mapContainers, withSpec } from './pod.ts';

export const KEYLOG_VOLUME = 'axom-observer-tls-keylog';
export const SSLKEYLOGFILE = 'SSLKEYLOGFILE';
export const NODE_OPTIONS = 'NODE_OPTIONS';
export const NODE_KEYLOG_FLAG = `--tls-keylog=${TLS_KEYLOG_PATH}`;
/** Key material is small; the cap keeps a runaway writer from eating the pod's memory. */
export const KEYLOG_SIZE_LIMIT = '16Mi';

function appContainerEnv(c: V1Container, warnings: string[]): V1EnvVar[] | undefined {
  const env = [...(c.env ?? [])];
  let changed = false;
  const ssl = env.findIndex((e) => e.name === SSLKEYLOGFILE);
  if (ssl === -1) {
    env.push({ name: SSLKEYLOGFILE, value: TLS_KEYLOG_PATH });
    changed = true;
  } else if (env[ssl]?.value !== TLS_KEYLOG_PATH) {
    warnings.push(`axom-observer: container ${c.name} sets ${SSLKEYLOGFILE} itself; it was left alone`);
  }
  const node = env.findIndex((e) => e.name === NODE_OPTIONS);
  const existing = env[node];
  if (existing === undefined) {
    if (c.envFrom?.length) {
      // envFrom may carry NODE_OPTIONS; an explicit env entry would silently replace it.
      warnings.push(
        `axom-observer: container ${c.name} uses envFrom, which may set ${NODE_OPTIONS}; ${NODE_KEYLOG_FLAG} was not added`,
      );
    } else {
      env.push({ name: NODE_OPTIONS, value: NODE_KEYLOG_FLAG });
      changed = true;
    }
  } else if (existing.valueFrom) {
    warnings.push(
      `axom-observer: container ${c.name} takes ${NODE_OPTIONS} from valueFrom; it was left alone, add ${NODE_KEYLOG_FLAG} yourself to capture its TLS`,
    );
  } else if (!(existing.value ?? '').includes('--tls-keylog')) {
    const value = existing.value?.trim() ? `${existing.value.trim()} ${NODE_KEYLOG_FLAG}` : NODE_KEYLOG_FLAG;
    env[node] = { ...existing, value };
    changed = true;
  }
  return changed ? env : undefined;
}

export const addTlsKeyLog: Mutator = (pod, input) => {
  if (input.policy?.spec?.sidecar?.tlsKeyLog !== true) return { pod, warnings: [] };
  const warnings: string[] = [];
  let mutated = withSpec(pod, (spec) =>
    (spec.volumes ?? []).some((v) => v.name === KEYLOG_VOLUME)
      ? spec
      : {
          ...spec,
          volumes: [
            ...(spec.volumes ?? []),
            { name: KEYLOG_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: KEYLOG_SIZE_LIMIT } },
          ],
        },
  );
  mutated = mapContainers(mutated, (c) => {
    const ours = c.name === SIDECAR_CONTAINER_NAME;
    const mounted = c.volumeMounts?.some((m) => m.mountPath === TLS_KEYLOG_DIR);
    const volumeMounts = mounted
      ? c.volumeMounts
      : [...(c.volumeMounts ?? []), { name: KEYLOG_VOLUME, mountPath: TLS_KEYLOG_DIR, readOnly: ours }];
    if (ours) return mounted ? c : { ...c, volumeMounts };
    const env = appContainerEnv(c, warnings);
    if (mounted && !env) return c;
    return { ...c, volumeMounts, ...(env ? { env } : {}) };
  });
  return { pod: mutated, warnings };
};
