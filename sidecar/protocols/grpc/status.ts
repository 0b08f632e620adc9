/** gRPC status codes and the mappings gRPC clients apply (grpc/doc/statuscodes.md, http-grpc-status-mapping.md). */

export const GRPC_OK = 0;
export const GRPC_CANCELLED = 1;
export const GRPC_UNKNOWN = 2;
export const GRPC_PERMISSION_DENIED = 7;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_UNIMPLEMENTED = 12;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAVAILABLE = 14;
export const GRPC_UNAUTHENTICATED = 16;

export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** `application/grpc`, `application/grpc+proto`, `application/grpc+json`... (not grpc-web). */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || !value.startsWith('application/grpc')) return false;
  const next = value.charCodeAt(16);
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */;
}

/** `/pkg.Service/Method` → service and method; undefined for anything else. */
export function parseGrpcPath(path: string): { service: string; method: string } | undefined {
  const slash = path.indexOf('/', 1);
  if (path.charCodeAt(0) !== 0x2f || slash < 2 || slash === path.length - 1) return undefined;
  if (path.indexOf('/', slash + 1) >= 0) return undefined;
  return { service: path.slice(1, slash), method: path.slice(slash + 1) };
}

/** grpc-message is percent-encoded UTF-8; a bad escape leaves the text as sent. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The status a gRPC client reports when the response carried no grpc-status (HTTP status). */
export function grpcStatusFromHttp(status: number): number {
  switch (status) {
    case 400:
      return GRPC_INTERNAL;
    case 401:
      return GRPC_UNAUTHENTICATED;
    case 403:
      return GRPC_PERMISSION_DENIED;
    case 404:
      return GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_UNAVAILABLE;
    default:
      return GRPC_UNKNOWN;
  }
}

/** The status a gRPC client reports for a stream reset with an HTTP/2 error code. */
export function grpcStatusFromReset(errorCode: number): number {
  switch (errorCode) {
    case 0x7: // REFUSED_STREAM
      return GRPC_UNAVAILABLE;
    case 0x8: // CANCEL
      return GRPC_CANCELLED;
    case 0xb: // ENHANCE_YOUR_CALM
      return GRPC_RESOURCE_EXHAUSTED;
    case 0xc: // INADEQUATE_SECURITY
      return GRPC_PERMISSION_DENIED;
    default:
      return GRPC_INTERNAL;
  }
}
