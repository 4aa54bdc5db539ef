import { execRouted, type RedisClient, type RoutedCommand } from './redis-connections.js';

/** Most commands in one pipeline; a turn that issued more sends several, all at once. */
const MAX_BATCH = 500;

interface Queued {
  readonly command: RoutedCommand;
  resolve(reply: unknown): void;
  reject(err: Error): void;
}

/**
 * Sends the commands issued during one event-loop turn as one pipeline, at
 * the end of that turn (`setImmediate`): a connect storm's limiter scripts,
 * issued by upgrade handlers that uWS runs back to back in one poll, cost one
 * socket write and one read instead of one each (ioredis writes every
 * command on its own otherwise). Each `send` is answered with its own reply
 * or error. Order: commands of one turn keep theirs in the pipeline, and
 * turns follow each other on the connection, so two commands on one key run
 * in the order they were sent (on a Cluster, execRouted keeps one hash tag on
 * one pipeline). Costs one event-loop turn of latency, nothing else.
 *
 * A caller that writes to the same keys outside this pipeline (a batch that
 * must land after these commands) calls `flush()` first: what is queued is
 * written now, ahead of anything issued after it on the connection.
 */
export class TurnPipeline {
  #queue: Queued[] = [];
  /** Pipelines written and not yet answered. */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(private readonly redis: RedisClient) {}

  send(command: RoutedCommand): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#queue.push({ command, resolve, reject }) === 1) setImmediate(() => this.#flush());
    });
  }

  /**
   * Writes what is queued now instead of at the end of the turn, and
   * resolves once every command sent so far has its reply or error (a
   * shutdown awaits this before it closes the connection).
   */
  async flush(): Promise<void> {
    this.#flush();
    await Promise.all(this.#inFlight);
  }

  #flush(): void {
    const queued = this.#queue;
    this.#queue = [];
    for (let start = 0; start < queued.length; start += MAX_BATCH) {
      const batch = queued.slice(start, start + MAX_BATCH);
      const answered = execRouted(
        this.redis,
        batch.map((q) => q.command),
      ).then(
        (results) => {
          results.forEach(([err, reply], i) => {
            const q = batch[i] as Queued;
            if (err) q.reject(err);
            else q.resolve(reply);
          });
        },
        (err: unknown) => {
          const error = err instanceof Error ? err : new Error(String(err));
          for (const q of batch) q.reject(error);
        },
      );
      this.#inFlight.add(answered);
      void answered.finally(() => this.#inFlight.delete(answered));
    }
  }
}
