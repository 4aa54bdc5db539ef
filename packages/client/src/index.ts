export type { BackoffOptions } from './backoff.js';
export {
  HydraClient,
  type HydraClientOptions,
  type HydraEvent,
  type HydraFilter,
  type HydraFrame,
  type HydraInvalidFrame,
  type HydraResync,
  type HydraSnapshot,
  type HydraState,
  type HydraStatus,
  type Liveness,
} from './hydra-client.js';
export type { SocketEvent, WebSocketConstructor, WebSocketLike } from './socket.js';
