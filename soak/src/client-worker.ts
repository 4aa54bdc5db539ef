/**
 * A soak client worker (forked by client-pool.ts, driven over IPC): holds its
 * share of the soak's ResumingClients and answers the orchestrator's
 * questions about them, so the clients' CPU is spread over processes and
 * the orchestrator's own event loop stays free for faults and probes.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SCOPES } from '@hydra/protocol';
import { ResumingClient } from '@hydra/stream-client';
import type { ClientResult, WorkerRequest, WorkerResults, WorkerStatus } from './client-protocol.js';

/** Clients dialled per tick at start, and the tick: a gateway sees a steady ramp, not a burst. */
const START_BATCH = 100;
const START_TICK_MS = 50;

const clients: { index: number; client: ResumingClient }[] = [];
let urls: string[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function status(sample: boolean): WorkerStatus {
  const minLast: Record<string, number> = {};
  const maxLast: Record<string, number> = {};
  for (const s of SCOPES) {
    let min = Number.POSITIVE_INFINITY;
    let max = -1;
    for (const { client } of clients) {
      const last = client.last.get(s) ?? -1;
      if (last < min) min = last;
      if (last > max) max = last;
    }
    minLast[s] = clients.length === 0 ? -1 : min;
    maxLast[s] = max;
  }
  const cpu = process.cpuUsage();
  const value: WorkerStatus = {
    total: clients.length,
    connected: clients.filter(({ client }) => client.connected).length,
    minLast,
    maxLast,
    cpuMicros: cpu.user + cpu.system,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
  };
  if (sample) loopDelay.reset();
  return value;
}

function results(finalSeqs: Record<string, number>): WorkerResults {
  const perClient: ClientResult[] = clients.map(({ client: c }) => {
    let delivered = 0;
    let owed = 0;
    for (const s of SCOPES) {
      const first = c.first.get(s) ?? 0;
      owed += (finalSeqs[s] ?? 0) - first;
      delivered += (c.last.get(s) ?? first) - first;
    }
    return { delivered, owed, lost: owed - delivered + c.gaps, duplicates: c.duplicates, resyncs: c.resyncs };
  });
  const sum = (maps: Map<number, number>[]) => {
    const out: Record<string, number> = {};
    for (const m of maps) for (const [k, v] of m) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    perClient,
    connects: clients.reduce((n, { client }) => n + client.connects, 0),
    events: clients.reduce((n, { client }) => n + client.events, 0),
    refusals: sum(clients.map(({ client }) => client.refusals)),
    closes: sum(clients.map(({ client }) => client.closes)),
    problems: clients.flatMap(({ client }) => client.problems.slice(0, 3).map((p) => `${client.resumeParam()}: ${p}`)),
  };
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.cmd) {
    case 'start': {
      urls = request.urls;
      for (let i = 0; i < request.clients.length; i++) {
        const spec = request.clients[i]!;
        const client = new ResumingClient({
          urls: () => urls,
          key: request.key,
          localAddress: spec.localAddress,
          startAt: spec.index,
        });
        clients.push({ index: spec.index, client: client.start() });
        if (i % START_BATCH === START_BATCH - 1) await new Promise((r) => setTimeout(r, START_TICK_MS));
      }
      return undefined;
    }
    case 'urls':
      urls = request.urls;
      return undefined;
    case 'reconnect':
      for (const { index, client } of clients) {
        if (index % request.modulo === request.remainder) client.reconnect(request.url);
      }
      return undefined;
    case 'status':
      return status(request.sample === true);
    case 'results':
      return results(request.finalSeqs);
    case 'stop':
      await Promise.all(clients.map(({ client }) => client.stop()));
      return undefined;
  }
}

process.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (value) => process.send?.({ id: request.id, ok: true, value }),
    (err: unknown) => process.send?.({ id: request.id, ok: false, error: String(err) }),
  );
});
// The orchestrator gone (crashed or killed): nothing left to report to.
process.on('disconnect', () => process.exit(0));
