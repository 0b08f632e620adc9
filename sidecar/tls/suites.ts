/**
 * The AEAD cipher suites the sidecar can decrypt. CBC and RSA-key-transport-only suites are
 * left out on purpose: every runtime that writes key logs negotiates one of these by default.
 */

export type AeadAlgorithm = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
export type HashAlgorithm = 'sha256' | 'sha384';

export interface CipherSuite {
  id: number;
  name: string;
  /** 0x0304 for TLS 1.3 suites, 0x0303 for TLS 1.2. */
  version: number;
  aead: AeadAlgorithm;
  hash: HashAlgorithm;
  keyLength: number;
  /** Length of the implicit IV: 12 for TLS 1.3 and ChaCha20, 4 (salt) for TLS 1.2 GCM. */
  ivLength: number;
  /** Bytes of explicit nonce in front of each TLS 1.2 GCM record (0 elsewhere). */
  explicitNonceLength: number;
}

export const TLS_1_0 = 0x0301;
export const TLS_1_1 = 0x0302;
export const TLS_1_2 = 0x0303;
export const TLS_1_3 = 0x0304;

export const TAG_LENGTH = 16;

function suite(
  id: number,
  name: string,
  version: number,
  aead: AeadAlgorithm,
  hash: HashAlgorithm,
): CipherSuite {
  const keyLength = aead === 'aes-128-gcm' ? 16 : 32;
  const gcm12 = version === TLS_1_2 && aead !== 'chacha20-poly1305';
  return {
    id,
    name,
    version,
    aead,
    hash,
    keyLength,
    ivLength: gcm12 ? 4 : 12,
    explicitNonceLength: gcm12 ? 8 : 0,
  };
}

const SUITES: readonly CipherSuite[] = [
  suite(0x1301, 'TLS_AES_128_GCM_SHA256', TLS_1_3, 'aes-128-gcm', 'sha256'),
  suite(0x1302, 'TLS_AES_256_GCM_SHA384', TLS_1_3, 'aes-256-gcm', 'sha384'),
  suite(0x1303, 'TLS_CHACHA20_POLY1305_SHA256', TLS_1_3, 'chacha20-poly1305', 'sha256'),
  suite(0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', TLS_1_2, 'aes-128-gcm', 'sha256'),
  suite(0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', TLS_1_2, 'aes-256-gcm', 'sha384'),
  suite(0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', TLS_1_2, 'aes-128-gcm', 'sha256'),
  suite(0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', TLS_1_2, 'aes-256-gcm', 'sha384'),
  suite(0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', TLS_1_2, 'chacha20-poly1305', 'sha256'),
  suite(0xcca9, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', TLS_1_2, 'chacha20-poly1305', 'sha256'),
  suite(0xccaa, 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256', TLS_1_2, 'chacha20-poly1305', 'sha256'),
  suite(0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256', TLS_1_2, 'aes-128-gcm', 'sha256'),
  suite(0x009d, 'TLS_RSA_WITH_AES_256_GCM_SHA384', TLS_1_2, 'aes-256-gcm', 'sha384'),
  suite(0x009e, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', TLS_1_2, 'aes-128-gcm', 'sha256'),
  suite(0x009f, 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384', TLS_1_2, 'aes-256-gcm', 'sha384'),
];

const BY_ID = new Map<number, CipherSuite>(SUITES.map((s) => [s.id, s]));

/** The suite with this IANA number, or undefined when the sidecar cannot decrypt it. */
export function cipherSuite(id: number): CipherSuite | undefined {
  return BY_ID.get(id);
}

/** `TLS 1.2`-style names for the signal's `tls.version`. */
export function versionName(version: number): string {
  switch (version) {
    case TLS_1_3:
      return '1.3';
    case TLS_1_2:
      return '1.2';
    case TLS_1_1:
      return '1.1';
    case TLS_1_0:
      return '1.0';
    default:
      return `0x${version.toString(16).padStart(4, '0')}`;
  }
}
