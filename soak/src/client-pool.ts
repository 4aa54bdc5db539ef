import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientSpec, WorkerCommand, WorkerReply, WorkerResults, WorkerStatus } from './client-protocol.js';
import { adopt } from './procs.js';

const WORKER = fileURLToPath(new URL('./client-worker.js', import.meta.url));
/** Longest answer time of a worker before the soak reports it stuck. */
const REQUEST_TIMEOUT_MS = 60_000;

export interface PoolStatus {
  total: number;
  connected: number;
  minLast: Record<string, number>;
  maxLast: Record<string, number>;
  /** Per worker. */
  workers: { cpuMicros: number; loopDelayP99Ms: number; loopDelayMaxMs: number }[];
}

/** One forked client worker and its pending requests. */
class Worker {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new Error(reply.error));
    });
    child.once('exit', (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`client worker exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  request<T>(command: WorkerCommand): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`client worker: no answer to ${command.cmd} in ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ ...command, id });
    });
  }
}

/**
 * The soak's clients, spread over forked worker processes (client-worker.ts):
 * each worker runs its share of ResumingClients on its own event loop.
 * Client i goes to worker i % workers.
 */
export class ClientPool {
  private constructor(private readonly workers: Worker[]) {}

  static async start(options: {
    clients: ClientSpec[];
    processes: number;
    key: string;
    urls: string[];
  }): Promise<ClientPool> {
    const workers = Array.from(
      { length: options.processes },
      () => new Worker(adopt(fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))),
    );
    const pool = new ClientPool(workers);
    await Promise.all(
      workers.map((w, n) =>
        w.request({
          cmd: 'start',
          key: options.key,
          urls: options.urls,
          clients: options.clients.filter((c) => c.index % workers.length === n),
        }),
      ),
    );
    return pool;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid ?? -1);
  }

  /** Resolves once every worker uses `urls` for its next connects. */
  async setUrls(urls: string[]): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request({ cmd: 'urls', urls })));
  }

  async reconnect(modulo: number, remainder: number, url: string): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request({ cmd: 'reconnect', modulo, remainder, url })));
  }

  async status(sample = false): Promise<PoolStatus> {
    const all = await Promise.all(this.workers.map((w) => w.request<WorkerStatus>({ cmd: 'status', sample })));
    const minLast: Record<string, number> = {};
    const maxLast: Record<string, number> = {};
    for (const s of Object.keys(all[0]?.minLast ?? {})) {
      minLast[s] = Math.min(...all.map((w) => w.minLast[s] ?? -1));
      maxLast[s] = Math.max(...all.map((w) => w.maxLast[s] ?? -1));
    }
    return {
      total: all.reduce((n, w) => n + w.total, 0),
      connected: all.reduce((n, w) => n + w.connected, 0),
      minLast,
      maxLast,
      workers: all.map(({ cpuMicros, loopDelayP99Ms, loopDelayMaxMs }) => ({
        cpuMicros,
        loopDelayP99Ms,
        loopDelayMaxMs,
      })),
    };
  }

  async results(finalSeqs: Record<string, number>): Promise<WorkerResults> {
    const all = await Promise.all(this.workers.map((w) => w.request<WorkerResults>({ cmd: 'results', finalSeqs })));
    const merge = (records: Record<string, number>[]) => {
      const out: Record<string, number> = {};
      for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    return {
      perClient: all.flatMap((r) => r.perClient),
      connects: all.reduce((n, r) => n + r.connects, 0),
      events: all.reduce((n, r) => n + r.events, 0),
      refusals: merge(all.map((r) => r.refusals)),
      closes: merge(all.map((r) => r.closes)),
      problems: all.flatMap((r) => r.problems),
    };
  }

  /** Every client closes (1000); then the workers exit. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request({ cmd: 'stop' })));
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            w.child.disconnect();
          }),
      ),
    );
  }
}
