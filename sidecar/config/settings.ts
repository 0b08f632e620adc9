/**
 * What each stage is configured with, resolved from rules.yaml and the command line over it
 * (flags and the environment the webhook sets). Capture settings and the enabled protocols
 * apply at start; the rest follows reloads (restartNeeded says when a reload asks for more).
 */
import { networkInterfaces } from 'node:os';
import { API_KEY_PATH } from '../../lib/names.ts';
import type { RulesFile } from '../../lib/policy/types.ts';
import type { CaptureSettings, PipelineLimits } from '../pipeline/index.ts';
import type { SignalContext } from '../signal/index.ts';
import type { PodRef } from '../signal/types.ts';
import type { ExportSettings } from '../sinks/exporter/index.ts';

/** Command-line overrides of rules.yaml `export`. */
export interface ExportOverrides {
  /** Overrides export.backendUrl and turns export on. */
  backendUrl?: string;
  batchSize?: number;
  flushIntervalMs?: number;
  apiKeyFile?: string;
}

/** Command-line overrides of rules.yaml `capture`. */
export interface CaptureOverrides {
  /** Overrides capture.interfaces (live capture). */
  interfaces?: string[];
  /** Replays this capture file instead of capturing live; the sidecar ends after it. */
  pcapFile?: string;
}

/** Export settings, or undefined when export is off. */
export function exportSettings(o: ExportOverrides, r: RulesFile): ExportSettings | undefined {
  const url = o.backendUrl ?? (r.export.enabled ? r.export.backendUrl : undefined);
  if (url === undefined) return undefined;
  return {
    url,
    format: r.export.format,
    compression: r.export.compression,
    batchSize: o.batchSize ?? r.export.batchSize,
    flushIntervalMs: o.flushIntervalMs ?? r.export.flushIntervalSeconds * 1000,
    maxQueueSize: r.export.maxQueueSize,
    timeoutMs: r.export.timeoutSeconds * 1000,
    apiKeyFile: o.apiKeyFile ?? r.export.apiKeyFile ?? API_KEY_PATH,
  };
}

export function captureSettings(o: CaptureOverrides, r: RulesFile): CaptureSettings {
  if (o.pcapFile !== undefined) return { file: o.pcapFile };
  const c = r.capture;
  return {
    devices: o.interfaces ?? c.interfaces,
    live: {
      filter: c.bpfFilter ? `tcp and (${c.bpfFilter})` : 'tcp',
      snaplen: c.snapLength,
      bufferSize: c.bufferSizeMiB << 20,
    },
  };
}

export function pipelineLimits(r: RulesFile): Partial<PipelineLimits> {
  return {
    maxBodyBytes: r.capture.maxBodyBytes,
    maxConnectionBufferBytes: r.capture.connectionBufferBytes,
    maxTotalBufferBytes: r.capture.totalBufferBytes,
    idleTimeoutMs: r.capture.idleTimeoutSeconds * 1000,
    websocketMessages: r.protocols.websocket.messages,
  };
}

export function systemSettings(r: RulesFile): { intervalMs: number; gpu: boolean } {
  return { intervalMs: r.system.intervalSeconds * 1000, gpu: r.system.gpu };
}

/** Who the signals speak for: the pod, and the policy the rules came from. */
export function signalContext(pod: PodRef | undefined, r: RulesFile): SignalContext {
  const context: SignalContext = {};
  if (pod !== undefined) context.pod = pod;
  if (r.policy?.name !== undefined) context.policy = r.policy.name;
  return context;
}

/** Whether `next` changes what only applies at start: capture settings, enabled protocols. */
export function restartNeeded(start: RulesFile, next: RulesFile): boolean {
  return startSettings(start) !== startSettings(next);
}

function startSettings(r: RulesFile): string {
  const { tlsKeyLog: _followsReloads, ...capture } = r.capture;
  const { websocket, ...protocols } = r.protocols;
  const { messages: _alsoFollowsReloads, ...ws } = websocket;
  return JSON.stringify({ capture, protocols: { ...protocols, websocket: ws } });
}

/** Every address of this network namespace: in a pod, the pod's own IPs (and loopback). */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) out.push(a.address.split('%')[0] as string);
  return out;
}
