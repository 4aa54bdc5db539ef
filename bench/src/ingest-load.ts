import http from 'node:http';
import { BENCH_INGEST_TOKEN } from './ingest-paths.js';
import { sleep } from './procs.js';

/** Events in each request body the load sends. */
export const INGEST_BATCH = 1_000;
/** Load before the window opens (connections warm, scripts loaded). */
export const INGEST_WARMUP_MS = 1_000;
/** A window lasts until at least this many batches were answered… */
export const MIN_BATCHES = 20;
/** …but never longer than this. */
export const MAX_WINDOW_MS = 60_000;

/** POSTs one NDJSON batch to an ingest server's /v1/events with the bench's token; resolves with the status. */
export function post(agent: http.Agent, port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/events',
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${BENCH_INGEST_TOKEN}`,
          'content-type': 'application/x-ndjson',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A closed-loop ingest load: `inFlight` lanes per publisher port, each POSTing
 * its next `INGEST_BATCH`-event body as soon as the previous one is answered.
 * Answers are counted only inside the measuring window.
 */
export class IngestLoad {
  events = 0;
  errors = 0;
  /** Round trips of the batches answered 200 in the window, ms. */
  readonly latencies: number[] = [];
  #measuring = false;
  #stop = false;
  readonly #lanes: Promise<void>[];

  constructor(
    ports: readonly number[],
    inFlight: number,
    bodyOf: (publisher: number, lane: number, k: number) => string,
  ) {
    this.#lanes = ports.flatMap((port, p) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
      return Array.from({ length: inFlight }, async (_, lane) => {
        for (let k = 0; !this.#stop; k++) {
          const body = bodyOf(p, lane, k);
          const t0 = performance.now();
          const status = await post(agent, port, body).catch(() => 0);
          if (!this.#measuring) continue;
          if (status === 200) {
            this.events += INGEST_BATCH;
            this.latencies.push(performance.now() - t0);
          } else this.errors++;
        }
        agent.destroy();
      });
    });
  }

  /**
   * Opens the window, waits at least `seconds` and MIN_BATCHES answered
   * batches (a loaded machine can take seconds per batch), at most
   * MAX_WINDOW_MS, then closes it; `before` and `after` read the counters at
   * its edges. Resolves with the window's length in seconds.
   */
  async measure(
    seconds: number,
    before: () => Promise<void> | void,
    after: () => Promise<void> | void,
  ): Promise<number> {
    await before();
    const t0 = performance.now();
    this.#measuring = true;
    await sleep(seconds * 1000);
    while (this.latencies.length < MIN_BATCHES && performance.now() - t0 < MAX_WINDOW_MS) await sleep(100);
    this.#measuring = false;
    const elapsedS = (performance.now() - t0) / 1000;
    await after();
    this.latencies.sort((a, b) => a - b);
    return elapsedS;
  }

  /** Stops every lane once its request in flight is answered. */
  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#lanes);
  }
}
