/**
 * What is always redacted, whatever the policy says: credential headers, key-like strings
 * and credential-looking JSON fields. Policies add to these lists, never remove from them.
 */

export const REDACTED = '[REDACTED]';

/** Header names (lower case) whose values are credentials. */
export const BUILTIN_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'cookie',
  'set-cookie',
  'x-auth-token',
  'x-access-token',
  'x-goog-api-key',
  'x-amz-security-token',
  'x-csrf-token',
  'x-xsrf-token',
  'anthropic-api-key',
  'openai-api-key',
];

/** JSON field names (lower case) whose values are credentials wherever they appear. */
export const BUILTIN_JSON_FIELDS: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'client_secret',
  'api_key',
  'apikey',
  'access_token',
  'refresh_token',
  'id_token',
  'private_key',
  'authorization',
];

/**
 * Key-like strings, one alternation so a string is scanned once. Each alternative is a
 * named group; the replacer keeps the non-secret prefix where it helps a reader (the auth
 * scheme, the query parameter name).
 */
export const BUILTIN_PATTERN = new RegExp(
  [
    // Authorization schemes followed by a credential: keep the scheme.
    String.raw`(?<scheme>\b(?:Bearer|Basic|Token|Bot)\s+)[A-Za-z0-9._~+/=-]{6,}`,
    // JSON Web Tokens (header.payload.signature, both base64url JSON objects).
    String.raw`(?<jwt>\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)`,
    // OpenAI (sk-, sk-proj-, sk-svcacct-) and Anthropic (sk-ant-...) keys.
    String.raw`(?<sk>\bsk-[A-Za-z0-9_-]{16,})`,
    // AWS access key ids.
    String.raw`(?<aws>\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b)`,
    // AWS secret access keys when labelled as such.
    String.raw`(?<awsSecretKey>aws_secret_access_key["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}`,
    // GitHub, Google, Slack, Hugging Face tokens.
    String.raw`(?<gh>\bgh[pousr]_[A-Za-z0-9]{30,})`,
    String.raw`(?<google>\bAIza[0-9A-Za-z_-]{35})`,
    String.raw`(?<slack>\bxox[abprs]-[A-Za-z0-9-]{10,})`,
    String.raw`(?<hf>\bhf_[A-Za-z0-9]{30,})`,
    // Credentials in URL query strings: keep the parameter name.
    String.raw`(?<query>[?&](?:api[_-]?key|key|token|access_token|auth|password|secret|sig|signature)=)[^&\s#"']+`,
  ].join('|'),
  'g',
);

/** Replacer for BUILTIN_PATTERN: `$<prefix>[REDACTED]` for the prefixed kinds, else all of it. */
export function builtinReplacer(_match: string, ...args: unknown[]): string {
  const groups = args[args.length - 1] as Record<string, string | undefined>;
  const prefix = groups.scheme ?? groups.query ?? groups.awsSecretKey;
  return prefix !== undefined ? prefix + REDACTED : REDACTED;
}
