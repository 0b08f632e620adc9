/**
 * The pipeline as the sidecar runs it: the parsers rules.yaml enables, from this sidecar's
 * own protocol registry, and its counters on /metrics. With `tls` on, decryption with the
 * app's key log sits in front of the parsers that also run inside TLS: HTTP/2 (by ALPN or
 * preface), HTTP/1.1, and WebSocket after an Upgrade inside TLS.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/log.ts';
import type { ProtocolName, RulesFile } from '../../lib/policy/types.ts';
import { registry as builtinProtocols, createRegistry } from '../protocols/registry.ts';
import type { ProtocolDefinition } from '../protocols/types.ts';
import { startTlsDecryption, type TlsDecryption } from '../tls/index.ts';
import { bindPipelineMetrics } from './metrics.ts';
import { createPipeline, type Pipeline, type PipelineOptions } from './pipeline.ts';

export interface PipelineStage {
  pipeline: Pipeline;
  /** TLS decryption, when `tls` is enabled: it follows reloads (setKeyLog) and stops with the sidecar. */
  tls: TlsDecryption | undefined;
}

export interface PipelineStageOptions extends Omit<PipelineOptions, 'protocols' | 'log'> {
  registry: Registry;
  log: Logger;
}

export function startPipeline(rules: RulesFile, options: PipelineStageOptions): PipelineStage {
  const { protocols, tls } = startParsers(rules, options);
  const { registry, log, ...pipelineOptions } = options;
  const pipeline = createPipeline({
    ...pipelineOptions,
    protocols,
    log: log.child({ component: 'pipeline' }),
  });
  bindPipelineMetrics(registry, pipeline);
  return { pipeline, tls };
}

function startParsers(
  rules: RulesFile,
  deps: { registry: Registry; log: Logger },
): { protocols: ProtocolDefinition[]; tls: TlsDecryption | undefined } {
  const enabled = (name: ProtocolName): boolean => rules.protocols[name].enabled;
  // The TLS protocol, bound to this key log and these metrics, replaces the placeholder in a
  // registry of this sidecar's own, without touching the process-wide one.
  const protocols = createRegistry(builtinProtocols.list());
  let tls: TlsDecryption | undefined;
  if (enabled('tls')) {
    const keyLog = rules.capture.tlsKeyLog;
    tls = startTlsDecryption({
      ...(keyLog !== undefined ? { keyLog } : {}),
      innerProtocols: (['http2', 'http', 'websocket'] as const)
        .filter(enabled)
        .map((name) => protocols.get(name))
        .filter((d): d is ProtocolDefinition => d !== undefined),
      metrics: deps.registry,
      log: deps.log.child({ component: 'tls' }),
    });
    protocols.register(tls.protocol);
    if (keyLog !== undefined) deps.log.info({ keyLog: keyLog.path }, 'decrypting TLS with the key log');
  }
  const names = (Object.keys(rules.protocols) as ProtocolName[]).filter(enabled);
  return { protocols: protocols.select(names), tls };
}
