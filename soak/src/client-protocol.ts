/** Messages between the soak (orchestrator) and its client workers, over the fork IPC channel. */

export interface ClientSpec {
  /** Global client number: spreads first connections over gateways, and picks who moves on a rebalance. */
  index: number;
  localAddress: string;
}

export type WorkerCommand =
  | { cmd: 'start'; key: string; urls: string[]; clients: ClientSpec[] }
  | { cmd: 'urls'; urls: string[] }
  /** Clients whose index % modulo === remainder close and resume on `url` (a fresh gateway takes its share). */
  | { cmd: 'reconnect'; modulo: number; remainder: number; url: string }
  /** `sample`: this status closes a measurement interval (the event-loop delay histogram starts again). */
  | { cmd: 'status'; sample?: boolean }
  | { cmd: 'results'; finalSeqs: Record<string, number> }
  | { cmd: 'stop' };

export type WorkerRequest = WorkerCommand & { id: number };

export interface WorkerStatus {
  total: number;
  connected: number;
  /** Per scope: the lowest last seq over the worker's clients (-1 if one has none yet), and the highest. */
  minLast: Record<string, number>;
  maxLast: Record<string, number>;
  /** process.cpuUsage() user + system, µs since the worker started. */
  cpuMicros: number;
  /** Event-loop delay since the previous sampled status: p99 and max, ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface ClientResult {
  delivered: number;
  owed: number;
  lost: number;
  duplicates: number;
  resyncs: number;
}

export interface WorkerResults {
  perClient: ClientResult[];
  connects: number;
  events: number;
  refusals: Record<string, number>;
  closes: Record<string, number>;
  /** A few problems per client, prefixed by its resume position. */
  problems: string[];
}

export type WorkerReply = { id: number; ok: true; value?: unknown } | { id: number; ok: false; error: string };
