/**
 * Self-provisioned webhook certificates (the default mode).
 *
 * One Secret in the operator's namespace holds the CA (cert + key) and the serving pair,
 * so every replica serves the same certificate: the first to start creates it, the others
 * adopt it (a 409 on create means "someone was faster: read theirs"). Each replica checks
 * the Secret on a timer; whoever first sees the serving certificate past 2/3 of its
 * lifetime re-issues it with an optimistic replace (resourceVersion), the others lose with
 * 409 and adopt. The CA stays the same across serving rotations, so the caBundle in the
 * webhook configurations does not change and the API server never sees an unknown issuer.
 * A CA near its own end is replaced ahead of time: the new CA joins the bundle first, and
 * only the next serving certificate is signed by it.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { CertificateError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import {
  generateCa,
  inspectCertificate,
  issueServingCertificate,
  renewalTime,
  serviceDnsNames,
  splitPemBundle,
  verifyPair,
} from './generate.ts';
import {
  CertificateSecretStore,
  injectCaBundle,
  type StoredCertificates,
  type WebhookConfigurationNames,
} from './kube.ts';
import { MutableTlsSource, type TlsMaterial, type TlsSource } from './source.ts';

const YEAR_MS = 365 * 24 * 3600_000;

export interface SelfSignedOptions {
  kubeConfig: KubeConfig;
  /** Operator namespace: where the Secret lives and the Service's namespace. */
  namespace: string;
  secretName: string;
  /** The webhook Service; its four DNS forms go into the certificate. */
  serviceName: string;
  extraDnsNames?: readonly string[];
  /** IP SANs, e.g. 127.0.0.1 for URL-registered webhooks outside the cluster. */
  ipAddresses?: readonly string[];
  /** Webhook configurations whose caBundle we keep current. */
  webhooks?: WebhookConfigurationNames;
  /** Serving certificate lifetime; 1 year by default. */
  validityMs?: number;
  /** CA lifetime; 10 years by default. */
  caValidityMs?: number;
  /** Fraction of a lifetime after which a certificate is replaced (2/3). */
  renewAt?: number;
  /** How often the Secret is re-read to follow other replicas (60 s). */
  resyncMs?: number;
  backdateMs?: number;
  log: Logger;
}

export interface CertificateManager extends TlsSource {
  /** The PEM CA bundle the API server must trust. */
  caBundle(): string;
  /** Reads the Secret, rotates if due, reloads and re-injects the caBundle; what the timer runs. */
  sync(): Promise<void>;
  /** Re-issues the serving certificate now (tests, manual rotation). */
  rotateNow(): Promise<void>;
  stop(): void;
}

interface Plan {
  next: StoredCertificates;
  why: string;
}

export async function startSelfSignedCertificates(opts: SelfSignedOptions): Promise<CertificateManager> {
  const validityMs = opts.validityMs ?? YEAR_MS;
  const caValidityMs = opts.caValidityMs ?? 10 * YEAR_MS;
  const renewAt = opts.renewAt ?? 2 / 3;
  const resyncMs = opts.resyncMs ?? 60_000;
  const dnsNames = [...serviceDnsNames(opts.serviceName, opts.namespace), ...(opts.extraDnsNames ?? [])];
  const ipAddresses = [...(opts.ipAddresses ?? [])];
  const store = new CertificateSecretStore(opts.kubeConfig, opts.namespace, opts.secretName);
  const log = opts.log;

  const issue = (ca: { cert: string; key: string }) =>
    issueServingCertificate({ ca, dnsNames, ipAddresses, validityMs, backdateMs: opts.backdateMs });

  async function fresh(): Promise<StoredCertificates> {
    const ca = await generateCa({ validityMs: caValidityMs, backdateMs: opts.backdateMs });
    const serving = await issue(ca);
    return { cert: serving.cert, key: serving.key, ca: ca.cert, caKey: ca.key };
  }

  /** What to write instead of `stored`, or undefined when it is good as it is. */
  async function plan(stored: StoredCertificates, force: boolean, now: number): Promise<Plan | undefined> {
    const cas = splitPemBundle(stored.ca);
    const current = cas[0];
    if (!current || !stored.caKey || !stored.cert || !stored.key)
      return { next: await fresh(), why: 'incomplete' };
    let caInfo: ReturnType<typeof inspectCertificate>;
    let info: ReturnType<typeof inspectCertificate>;
    try {
      caInfo = inspectCertificate(current);
      info = inspectCertificate(stored.cert);
    } catch {
      return { next: await fresh(), why: 'unreadable' };
    }
    if (caInfo.notAfter.getTime() <= now) return { next: await fresh(), why: 'CA expired' };
    // Drop CAs from the bundle once they have expired.
    const trusted = cas.filter((c) => {
      try {
        return inspectCertificate(c).notAfter.getTime() > now;
      } catch {
        return false;
      }
    });
    // Stage a new CA well before the current one ends: bundle first, signing later.
    if (renewalTime(caInfo, renewAt).getTime() <= now) {
      const ca = await generateCa({ validityMs: caValidityMs, backdateMs: opts.backdateMs });
      return {
        next: { ...stored, ca: [ca.cert, ...trusted].join(''), caKey: ca.key },
        why: 'CA renewal staged',
      };
    }
    const covers =
      dnsNames.every((n) => info.dnsNames.includes(n)) &&
      ipAddresses.every((ip) => info.ipAddresses.includes(ip));
    const valid = verifyPair(stored, stored.ca);
    const due = renewalTime(info, renewAt).getTime() <= now;
    if (force || !covers || !valid || due) {
      const serving = await issue({ cert: current, key: stored.caKey });
      const why = force ? 'requested' : !valid ? 'invalid pair' : !covers ? 'names changed' : 'due';
      return { next: { ...stored, cert: serving.cert, key: serving.key, ca: trusted.join('') }, why };
    }
    return undefined;
  }

  /** Converges the Secret; returns what it holds afterwards. */
  async function converge(force: boolean): Promise<StoredCertificates> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await store.read();
      if (!stored) {
        const created = await fresh();
        if (await store.create(created)) {
          log.info({ secret: `${opts.namespace}/${opts.secretName}` }, 'webhook certificate created');
          return created;
        }
        continue; // another replica created it: adopt theirs
      }
      const p = await plan(stored, force && attempt === 0, Date.now());
      if (!p) return stored;
      if (await store.replace(p.next, stored.resourceVersion ?? '')) {
        log.info(
          { secret: `${opts.namespace}/${opts.secretName}`, reason: p.why },
          'webhook certificate rotated',
        );
        return p.next;
      }
      // Lost the race to another replica: read what it wrote (it rotated for us).
      force = false;
    }
    throw new CertificateError(
      `could not settle the webhook certificate Secret ${opts.namespace}/${opts.secretName}`,
    );
  }

  const toMaterial = (s: StoredCertificates): TlsMaterial => ({ cert: s.cert, key: s.key, ca: s.ca });

  const initial = await converge(false);
  const source = new MutableTlsSource(toMaterial(initial));
  let lastBundle = '';
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function publish(s: StoredCertificates): Promise<void> {
    // The bundle goes to the API server before the server presents a certificate from a new CA.
    if (opts.webhooks && s.ca !== lastBundle) {
      const r = await injectCaBundle(opts.kubeConfig, opts.webhooks, s.ca);
      if (r.missing.length > 0)
        log.warn({ missing: r.missing }, 'webhook configurations not found for the caBundle');
      else lastBundle = s.ca;
      if (r.updated.length > 0)
        log.info({ updated: r.updated }, 'caBundle written to webhook configurations');
    }
    const cur = source.current();
    if (cur.cert !== s.cert || cur.key !== s.key || cur.ca !== s.ca) {
      if (!verifyPair(s, s.ca))
        throw new CertificateError('the certificate Secret holds a pair that does not verify');
      source.set(toMaterial(s));
    }
  }

  function schedule(): void {
    if (stopped) return;
    let delay = resyncMs;
    try {
      const due = renewalTime(inspectCertificate(source.current().cert), renewAt).getTime() - Date.now();
      delay = Math.min(delay, Math.max(due, 50));
    } catch {
      // An unreadable certificate is replaced on the next sync; keep the resync delay.
    }
    timer = setTimeout(
      () => {
        void manager
          .sync()
          .catch((err: unknown) => log.error({ err }, 'webhook certificate sync failed; retrying'));
      },
      Math.min(delay, 2 ** 31 - 1),
    );
    timer.unref();
  }

  const run = (force: boolean): Promise<void> => {
    // One sync at a time; a rotation requested during a sync runs after it.
    const previous = running ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(async () => {
        if (timer) clearTimeout(timer);
        try {
          await publish(await converge(force));
        } finally {
          schedule();
        }
      });
    running = next;
    return next;
  };

  const manager: CertificateManager = {
    current: () => source.current(),
    onChange: (l) => source.onChange(l),
    caBundle: () => source.current().ca ?? '',
    sync: () => run(false),
    rotateNow: () => run(true),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
  try {
    await publish(initial);
  } catch (err) {
    // The server can serve what the Secret holds; the caBundle is retried on the next sync.
    log.error({ err }, 'cannot publish the webhook certificate yet; retrying');
  }
  schedule();
  return manager;
}
