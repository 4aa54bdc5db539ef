/** Messages between the bench orchestrator and its forked workers (client load and publisher). */

/** How a client speaks to a server under test. */
export type ClientProtocol = 'hydra' | 'sio' | 'pusher' | 'raw' | 'centrifuge';

/** Keys of the numeric fields the publisher stamps into every payload (unique, so a byte scan finds them). */
export const FIELD_SCOPE = 'zzs';
export const FIELD_COUNTER = 'zzn';
export const FIELD_TIME = 'zzt';

export interface ConnectPlan {
  cmd: 'connect';
  protocol: ClientProtocol;
  port: number;
  count: number;
  /** Second octet of this worker's source addresses (127.<octet>.x.y). */
  ipOctet: number;
  perIp: number;
  /** Upgrade requests per second (whole worker) and at most this many in flight. */
  rampPerSec: number;
  maxInflight: number;
  /** Request path of client i is paths[i % paths.length]; its scope indices subs[i % subs.length]. */
  paths: string[];
  subs: number[][];
  /** Scope names by index (snapshot frames name their scope). */
  scopeNames: string[];
  /** Give up connecting after this long. */
  timeoutMs: number;
  /** Offer permessage-deflate in the upgrade. Default false. */
  deflate?: boolean;
  /**
   * With `deflate`: one client in this many inflates and checks its messages
   * (content, order, latency); the others count compressed frames as
   * deliveries without reading them, so the load generator's core measures
   * the server, not zlib. Default 1 (every client inflates).
   */
  inflateEvery?: number;
}

export type WorkerCommand =
  | ConnectPlan
  | { cmd: 'reset' }
  | { cmd: 'mark' }
  | { cmd: 'stats' }
  | { cmd: 'pause'; fraction: number }
  | { cmd: 'close' };

export interface SparseHistogram {
  buckets: Array<[number, number]>;
  max: number;
  sum: number;
}

export interface WorkerStats {
  open: number;
  failed: number;
  failures: Record<string, number>;
  closedByServer: number;
  /** Closed by the server among the paused (slow) clients. */
  pausedClosed: number;
  paused: number;
  messages: number;
  /** Messages received before the last `mark`. */
  messagesAtMark: number;
  /** Socket reads (data chunks) of upgraded clients, total and before the last `mark`. */
  reads: number;
  readsAtMark: number;
  /** Bytes of the messages counted (payload with the server's envelope). */
  messageBytes: number;
  /** Live messages without the payload fields (Hydra entity removals such as `left_area`), and their bytes. */
  otherMessages: number;
  otherBytes: number;
  /** Bytes read from upgraded sockets: what crossed the wire (frame headers, compression and pings included). */
  wireBytes: number;
  /** Missing counter values between consecutive messages of one scope. */
  gaps: number;
  /** Counter values at or below the last one seen (duplicates or reordering). */
  dups: number;
  /** Product seq checks (hydra only): gaps and duplicates of the envelope seq after a snapshot. */
  seqGaps: number;
  seqDups: number;
  pings: number;
  /** Whole snapshots (last parts) and snapshot messages (parts) received. */
  snapshots: number;
  snapshotParts: number;
  snapshotItems: number;
  /** ms from the connect command to the moment this worker's last client had its last snapshot. */
  lastSnapshotMs: number;
  latency: SparseHistogram;
  /** Latency of healthy (not paused) clients only. */
  cpuMs: number;
  /** Of which system time (syscalls, and loopback softirq work charged to the client). */
  cpuSysMs: number;
  wallMs: number;
  connectMs: number;
}

export type WorkerEvent =
  | { ev: 'ready' }
  | { ev: 'connected'; open: number; failed: number; failures: Record<string, number>; ms: number }
  | { ev: 'stats'; stats: WorkerStats }
  | { ev: 'ok' };

export interface PublishPlan {
  cmd: 'publish';
  target: 'hydra' | 'sio' | 'pusher' | 'raw' | 'centrifuge';
  redisUrl: string;
  /** Hydra: the backplane's variables (HYDRA_REDIS_CLUSTER_NODES, …) instead of redisUrl (the topology mode's cluster). */
  redisEnv?: Record<string, string>;
  /** HTTP publish port: soketi's API (target pusher), the Centrifuge API node (target centrifuge). */
  httpPort?: number;
  /** Events per second over all scopes, round-robin over `scopes` (indices into scopeNames). */
  rate: number;
  scopes: number[];
  scopeNames: string[];
  durationMs: number;
  /** Pad each payload to about this many bytes (`padded` payloads). */
  payloadBytes: number;
  /**
   * `padded` (default): the bench fields padded with `x`; `aircraft`: a
   * demo-like aircraft position (payload.ts), for measures where the bytes'
   * content matters (compression).
   */
  payloadKind?: 'padded' | 'aircraft';
  /** Entity scopes: ids cycle over this many entities (0 = unique ids). */
  entities: number;
  /** Hydra: the retention policy (HYDRA_RETENTION syntax) published under, when not the default. */
  retention?: string;
  /**
   * The events due are sent every `burstMs` as one burst (one pipeline; one
   * HTTP batch for soketi), the same load shape for every target. Default 20.
   */
  burstMs?: number;
}

export type PublisherEvent = { ev: 'ready' } | { ev: 'done'; published: number[]; ms: number; errors: number };
