/**
 * A throwaway PKI for tests: one CA per control plane (or per webhook test) that issues
 * serving and client certificates. ECDSA P-256 keeps generation fast on a busy machine;
 * both Go's TLS stack (kube-apiserver, kubectl) and Node's accept it.
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its parts through tsyringe, which needs it
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { PrerequisiteError } from '../../lib/errors.ts';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  /** Subject common name; for client certificates Kubernetes reads it as the user name. */
  commonName: string;
  /** Subject organizations; Kubernetes reads them as groups (e.g. `system:masters`). */
  organizations?: readonly string[];
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** `server`, `client` or both (the default). */
  usage?: 'server' | 'client' | 'both';
  validDays?: number;
}

export interface TestCA {
  readonly certPem: string;
  readonly keyPem: string;
  issue(options: IssueOptions): Promise<KeyPairPem>;
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return toPem(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** DN attribute values are escaped so a name with a comma stays one value. */
function dn(commonName: string, organizations: readonly string[] = []): string {
  const esc = (v: string) => v.replace(/([,+"\\<>;=])/g, '\\$1');
  return [...organizations.map((o) => `O=${esc(o)}`), `CN=${esc(commonName)}`].join(', ');
}

/** Creates a fresh self-signed CA, valid for `validDays` (default 7). */
export async function createTestCA(commonName = 'axom-test-ca', validDays = 7): Promise<TestCA> {
  const caKeys = await newKeys();
  const notBefore = new Date(Date.now() - 60_000); // tolerate small clock skew between processes
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: dn(commonName),
    keys: caKeys,
    signingAlgorithm: ALG,
    notBefore,
    notAfter: new Date(notBefore.getTime() + validDays * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const certPem = caCert.toString('pem');
  const keyPem = await privateKeyPem(caKeys.privateKey);

  async function issue(options: IssueOptions): Promise<KeyPairPem> {
    const keys = await newKeys();
    const usage = options.usage ?? 'both';
    const eku: string[] = [];
    if (usage !== 'client') eku.push(x509.ExtendedKeyUsage.serverAuth);
    if (usage !== 'server') eku.push(x509.ExtendedKeyUsage.clientAuth);
    const names: x509.JsonGeneralName[] = [
      ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(eku),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ];
    if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
    const cert = await x509.X509CertificateGenerator.create({
      subject: dn(options.commonName, options.organizations),
      issuer: caCert.subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + (options.validDays ?? validDays) * DAY_MS),
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      extensions,
    });
    return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
  }

  return { certPem, keyPem, issue };
}

/**
 * The service-account token signing pair: kube-apiserver signs tokens with the private key
 * and verifies them (as does anyone reading the issuer's JWKS) with the public one.
 */
export function createServiceAccountKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface CertFiles {
  key: string;
  cert: string;
  keyPath: string;
  certPath: string;
}

export interface OpensslCertOptions {
  /** Default `localhost`. */
  commonName?: string;
  /** subjectAltName entries (`DNS:localhost`, `IP:127.0.0.1`); none by default. */
  altNames?: readonly string[];
  /** Default `ec` (P-256); `rsa` is RSA 2048. */
  keyType?: 'ec' | 'rsa';
}

/**
 * A self-signed certificate made by the openssl command line, valid one day, written to
 * `dir/key.pem` and `dir/cert.pem` (for servers that read files: MariaDB, PostgreSQL, TLS tests).
 */
export function opensslSelfSignedCert(dir: string, options: OpensslCertOptions = {}): CertFiles {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const newkey = options.keyType === 'rsa' ? ['rsa:2048'] : ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const altNames = options.altNames ?? [];
  const addext = altNames.length > 0 ? ['-addext', `subjectAltName=${altNames.join(',')}`] : [];
  const args = ['req', '-x509', '-newkey', ...newkey, '-nodes', '-days', '1'];
  args.push(
    '-subj',
    `/CN=${options.commonName ?? 'localhost'}`,
    ...addext,
    '-keyout',
    keyPath,
    '-out',
    certPath,
  );
  try {
    execFileSync('openssl', args, { stdio: 'ignore' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new PrerequisiteError('openssl is required for this test and is not on PATH');
    throw err;
  }
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), keyPath, certPath };
}
