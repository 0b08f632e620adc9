/**
 * gRPC rides on HTTP/2: the HTTP/2 session classifies a stream as gRPC by its content-type
 * and uses these pieces to count messages and read the status. There is no separate
 * connection-level detector; `http2Protocol` emits transactions with protocol `grpc`.
 */
export { GrpcMessageCounter } from './messages.ts';
export { type GrpcMetrics, registerGrpcMetrics } from './metrics.ts';
export {
  decodeGrpcMessage,
  GRPC_STATUS_NAMES,
  GRPC_UNKNOWN,
  grpcStatusFromHttp,
  grpcStatusFromReset,
  isGrpcContentType,
  parseGrpcPath,
} from './status.ts';
