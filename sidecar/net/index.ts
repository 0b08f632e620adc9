/** Link layers, IPv4/IPv6/TCP decoding and TCP reassembly. */
export * from './link.ts';
export {
  DECODE_FRAGMENT,
  DECODE_MALFORMED,
  DECODE_NOT_IP,
  DECODE_NOT_TCP,
  DECODE_OK,
  decodeTcp,
  newSegment,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  type TcpSegment,
} from './packet.ts';
export {
  createReassembler,
  DEFAULT_REASSEMBLY_LIMITS,
  type Reassembler,
  type ReassemblyCounters,
  type ReassemblyLimits,
  type StreamSink,
  type TcpConnection,
} from './reassembly.ts';
