/**
 * Our own small PKI for the webhook: an ECDSA P-256 CA and serving certificates it signs,
 * generated with @peculiar/x509 over WebCrypto and handed around as PEM. Parsing and
 * checks use node:crypto's X509Certificate.
 */
import { createPrivateKey, X509Certificate as NodeX509, randomBytes, webcrypto } from 'node:crypto';
import 'reflect-metadata'; // @peculiar/x509 resolves its parts through tsyringe, which needs it
import * as x509 from '@peculiar/x509';
import { CertificateError } from '../../lib/errors.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface CaOptions {
  commonName?: string;
  validityMs: number;
  /** Backdating for clock skew between nodes; 0 in tests that measure lifetimes. */
  backdateMs?: number;
  now?: Date;
}

export interface ServingOptions {
  ca: KeyPairPem;
  dnsNames: readonly string[];
  ipAddresses?: readonly string[];
  validityMs: number;
  backdateMs?: number;
  now?: Date;
}

const DEFAULT_BACKDATE_MS = 5 * 60_000;

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  return b.toString('hex');
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  // Accepts PKCS#8 and SEC1 ("EC PRIVATE KEY") by going through node:crypto first.
  let der: Buffer;
  try {
    der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  } catch (err) {
    throw new CertificateError(`cannot read the CA private key: ${(err as Error).message}`, { cause: err });
  }
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']) as Promise<CryptoKey>;
}

function validity(opts: { validityMs: number; backdateMs?: number; now?: Date }): {
  notBefore: Date;
  notAfter: Date;
} {
  const now = opts.now?.getTime() ?? Date.now();
  return {
    notBefore: new Date(now - (opts.backdateMs ?? DEFAULT_BACKDATE_MS)),
    notAfter: new Date(now + opts.validityMs),
  };
}

export async function generateCa(opts: CaOptions): Promise<KeyPairPem> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${opts.commonName ?? 'axom-observer-webhook-ca'}`,
    keys: keys as never,
    signingAlgorithm: SIGNING,
    ...validity(opts),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

export async function issueServingCertificate(opts: ServingOptions): Promise<KeyPairPem> {
  if (opts.dnsNames.length === 0 && !opts.ipAddresses?.length) {
    throw new CertificateError('a serving certificate needs at least one DNS name or IP address');
  }
  const caCert = new x509.X509Certificate(opts.ca.cert);
  const caKey = await importPrivateKey(opts.ca.key);
  const keys = await keyPair();
  const names: x509.JsonGeneralNames = [
    ...opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.dnsNames[0] ?? opts.ipAddresses?.[0]}`,
    issuer: caCert.subject,
    publicKey: keys.publicKey as never,
    signingKey: caKey as never,
    signingAlgorithm: SIGNING,
    ...validity(opts),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

/** The webhook Service's DNS names, as the API server may address it. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

// --- inspection ---------------------------------------------------------------------------

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM bundle, in order. */
export function splitPemBundle(pem: string): string[] {
  return pem.match(PEM_BLOCK)?.map((b) => `${b}\n`) ?? [];
}

export interface CertificateInfo {
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
  fingerprint256: string;
  dnsNames: string[];
  ipAddresses: string[];
  isCa: boolean;
}

export function inspectCertificate(pem: string): CertificateInfo {
  let c: NodeX509;
  try {
    c = new NodeX509(pem);
  } catch (err) {
    throw new CertificateError(`not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  const san = c.subjectAltName ?? '';
  const entries = san ? san.split(', ') : [];
  return {
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    serialNumber: c.serialNumber,
    fingerprint256: c.fingerprint256,
    dnsNames: entries.filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4)),
    ipAddresses: entries.filter((e) => e.startsWith('IP Address:')).map((e) => e.slice(11)),
    isCa: c.ca,
  };
}

/** True when `key` belongs to `cert` and `cert` was signed by one of the CAs in `caBundle`. */
export function verifyPair(pair: KeyPairPem, caBundle: string): boolean {
  try {
    const c = new NodeX509(pair.cert);
    if (!c.checkPrivateKey(createPrivateKey(pair.key))) return false;
    return splitPemBundle(caBundle).some((ca) => {
      const caCert = new NodeX509(ca);
      return c.checkIssued(caCert) && c.verify(caCert.publicKey);
    });
  } catch {
    return false;
  }
}

/** When a certificate should be replaced: after `fraction` of its lifetime (2/3 by default). */
export function renewalTime(info: Pick<CertificateInfo, 'notBefore' | 'notAfter'>, fraction = 2 / 3): Date {
  const start = info.notBefore.getTime();
  return new Date(start + (info.notAfter.getTime() - start) * fraction);
}
