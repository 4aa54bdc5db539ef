/** The load-generator worker pool, driven over IPC from the orchestrator. */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Histogram } from './histogram.js';
import { forkPinned } from './procs.js';
import type { ConnectPlan, WorkerCommand, WorkerEvent, WorkerStats } from './protocol.js';

const WORKER = fileURLToPath(new URL('./client-worker.js', import.meta.url));
/** Stays well under the 20,000 descriptors a process may hold. */
export const MAX_SOCKETS_PER_WORKER = 14_000;

let octet = 10;
/** A fresh 127.<octet>.0.0/16 for every connect call, so limiter slots of earlier runs never collide. */
function nextOctet(): number {
  octet = octet >= 250 ? 10 : octet + 1;
  return octet;
}

export interface MergedStats extends Omit<WorkerStats, 'latency'> {
  latency: Histogram;
  /** Highest single worker CPU share and the sum (all workers share the client core). */
  clientCpu: number;
}

export class WorkerPool {
  private waiting: Array<((m: WorkerEvent) => void) | null>;

  private constructor(private readonly procs: ChildProcess[]) {
    this.waiting = procs.map(() => null);
    procs.forEach((p, i) => {
      p.on('message', (m: WorkerEvent) => {
        const w = this.waiting[i];
        if (w && m.ev !== 'ready') {
          this.waiting[i] = null;
          w(m);
        }
      });
    });
  }

  static async start(n: number, cpus: string): Promise<WorkerPool> {
    const procs: ChildProcess[] = [];
    await Promise.all(
      Array.from({ length: n }, async () => {
        const p = forkPinned(cpus, WORKER);
        procs.push(p);
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('worker did not start')), 60_000); // a loaded box
          p.once('message', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }),
    );
    return new WorkerPool(procs);
  }

  get size(): number {
    return this.procs.length;
  }

  private request(i: number, cmd: WorkerCommand, ms: number): Promise<WorkerEvent> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting[i] = null;
        reject(new Error(`worker ${i}: no answer to ${cmd.cmd} within ${ms} ms`));
      }, ms);
      this.waiting[i] = (m) => {
        clearTimeout(t);
        resolve(m);
      };
      this.procs[i]?.send(cmd);
    });
  }

  async all(cmd: WorkerCommand, ms = 10_000): Promise<WorkerEvent[]> {
    return Promise.all(this.procs.map((_, i) => this.request(i, cmd, ms)));
  }

  /** Connects `total` clients spread evenly over the workers. */
  async connect(
    total: number,
    plan: Omit<ConnectPlan, 'cmd' | 'count' | 'ipOctet'>,
  ): Promise<{ open: number; failed: number; failures: Record<string, number>; ms: number }> {
    const n = this.procs.length;
    const per = Math.ceil(total / n);
    if (per > MAX_SOCKETS_PER_WORKER) throw new Error(`${per} sockets per worker is over the limit`);
    const t0 = performance.now();
    const answers = await Promise.all(
      this.procs.map((_, i) => {
        const count = Math.max(0, Math.min(per, total - i * per));
        // The worker reports at its own deadline; a starved one (a loaded box) may report late: bounded margin.
        return this.request(i, { ...plan, cmd: 'connect', count, ipOctet: nextOctet() }, plan.timeoutMs + 60_000);
      }),
    );
    let open = 0;
    let failed = 0;
    const failures: Record<string, number> = {};
    for (const a of answers) {
      if (a.ev !== 'connected') continue;
      open += a.open;
      failed += a.failed;
      for (const [k, v] of Object.entries(a.failures)) failures[k] = (failures[k] ?? 0) + v;
    }
    return { open, failed, failures, ms: performance.now() - t0 };
  }

  /** `ms`: how long each worker may take to answer (one reading a thousand lagging sockets answers late). */
  async stats(ms = 10_000): Promise<MergedStats> {
    const answers = await this.all({ cmd: 'stats' }, ms);
    const latency = new Histogram();
    let merged: MergedStats | null = null;
    let clientCpu = 0;
    for (const a of answers) {
      if (a.ev !== 'stats') continue;
      const s = a.stats;
      latency.merge(Histogram.fromSparse(s.latency));
      clientCpu += s.wallMs > 0 ? s.cpuMs / s.wallMs : 0;
      if (merged === null) {
        merged = { ...s, latency, clientCpu: 0, failures: { ...s.failures } };
        continue;
      }
      for (const k of [
        'open',
        'failed',
        'closedByServer',
        'pausedClosed',
        'paused',
        'messages',
        'messagesAtMark',
        'reads',
        'readsAtMark',
        'messageBytes',
        'otherMessages',
        'otherBytes',
        'wireBytes',
        'gaps',
        'dups',
        'seqGaps',
        'seqDups',
        'pings',
        'snapshots',
        'snapshotParts',
        'snapshotItems',
        'cpuMs',
        'cpuSysMs',
      ] as const) {
        merged[k] += s[k];
      }
      merged.lastSnapshotMs = Math.max(merged.lastSnapshotMs, s.lastSnapshotMs);
      merged.connectMs = Math.max(merged.connectMs, s.connectMs);
      merged.wallMs = Math.max(merged.wallMs, s.wallMs);
      for (const [k, v] of Object.entries(s.failures)) merged.failures[k] = (merged.failures[k] ?? 0) + v;
    }
    if (merged === null) throw new Error('no worker stats');
    merged.clientCpu = clientCpu;
    return merged;
  }

  /** `ms`: how long each worker may take to close its clients (thousands of sockets on a loaded box take seconds). */
  async closeClients(ms = 10_000): Promise<void> {
    await this.all({ cmd: 'close' }, ms);
  }

  stop(): void {
    for (const p of this.procs) p.kill('SIGKILL');
  }
}
