/**
 * WebSocket (RFC 6455). Never detected from content (frames have no signature): an
 * HTTP/1.1 101 Switching Protocols hands the connection over through switchProtocol.
 */
import type { ProtocolDefinition } from '../types.ts';
import { WebSocketSession } from './session.ts';

export const websocket: ProtocolDefinition = {
  name: 'websocket',
  defaultPorts: [],
  detect: () => 'no',
  create: (ctx) => new WebSocketSession(ctx),
};
