/**
 * `pnpm bench --ingest-instructions [--instruction-events N]` (issue 16)
 *
 * What each publish path costs Redis per event, in CPU instructions counted by
 * valgrind (callgrind), not in seconds: the count does not depend on how
 * loaded or how fast the machine is, so two runs on different days (or boxes)
 * compare, where `--ingest`'s µs per event moved by 2× between sessions. For
 * `per-event` (the old path, baseline) and `chunked` (shipped), on `aircraft`
 * updates (10,000 ids) and `alerts` with unique ids (every event checked and
 * claimed for dedupe): a private redis-server under callgrind, one subscriber
 * on the scope's channel (as a gateway), the path's EventPublisher fed
 * 1,000-event batches, 4 in flight, a 1 s dedupe window (claims are made and
 * forgotten within the run). Counters are zeroed after a warm-up and
 * dumped once the subscriber has received every event of the window, so a
 * row is the instructions of Redis' whole process (commands, scripts, network
 * I/O, its timers) divided by the events published. Under callgrind Redis
 * runs about 50× slower: keep the event count modest.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type PublishEvent, parseRetention, redisChannels } from '@hydra/backplane';
import type { IngestEvent } from '@hydra/protocol';
import { idempotencyKeyFor } from '@hydra/publisher';
import { Redis } from 'ioredis';
import { aircraftBody, alertsBody } from './ingest.js';
import { INGEST_BATCH } from './ingest-load.js';
import { type IngestPath, openIngestPath } from './ingest-paths.js';
import { resultsDir } from './paths.js';
import { sleep } from './procs.js';
import { type BenchRedis, startRedis } from './redis.js';

type Feed = 'aircraft' | 'alerts';
const PATHS: readonly IngestPath[] = ['per-event', 'chunked'];
const FEEDS: readonly Feed[] = ['aircraft', 'alerts'];
const IN_FLIGHT = 4;
/**
 * The chunked path's dedupe window: short, so that claims expire and are
 * forgotten during the run (under callgrind it lasts tens of seconds) and
 * each keyed event is charged its claim's whole life, made and forgotten.
 */
const DEDUPE_WINDOW_MS = 1_000;
const WARMUP_BATCHES = 4;
/** Valgrind starts redis-server in a few seconds; a loaded machine needs longer. */
const START_TIMEOUT_MS = 60_000;

export interface InstructionRow {
  path: IngestPath;
  feed: Feed;
  events: number;
  instructionsPerEvent: number;
}

export function parseInstructionArgs(argv: string[]): { events: number } {
  const o = { events: 20_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--ingest-instructions') continue;
    if (a === '--instruction-events') o.events = Number(argv[++i]);
    else throw new Error(`--ingest-instructions: unknown argument ${a}`);
  }
  if (!Number.isInteger(o.events) || o.events < INGEST_BATCH || o.events % INGEST_BATCH !== 0) {
    throw new Error(`--instruction-events must be a positive multiple of ${INGEST_BATCH}`);
  }
  return o;
}

/** The events of one bench batch, as the ingest server would hand them to the bus (`alerts`: keyed by `data.id`). */
function batchEvents(feed: Feed, tag: string, k: number): PublishEvent[] {
  const body = feed === 'aircraft' ? aircraftBody(k) : alertsBody(tag, k);
  return body.split('\n').map((line, index) => {
    const event = JSON.parse(line) as IngestEvent;
    return { ...event, idempotencyKey: idempotencyKeyFor(event, index, undefined) };
  });
}

/** The `summary:` (total instructions) of the newest callgrind dump in `dir`. */
function dumpedInstructions(dir: string, before: ReadonlySet<string>): number {
  const dumps = readdirSync(dir).filter((f) => f.startsWith('callgrind.out') && !before.has(f));
  if (dumps.length !== 1) throw new Error(`expected one new callgrind dump, found ${dumps.length}`);
  const m = /^summary: (\d+)$/m.exec(readFileSync(path.join(dir, dumps[0]!), 'utf8'));
  if (!m) throw new Error('callgrind dump without a summary line');
  return Number(m[1]);
}

async function measure(pathName: IngestPath, feed: Feed, events: number): Promise<InstructionRow> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hydra-callgrind-'));
  let redis: BenchRedis | undefined;
  let subscriber: Redis | undefined;
  let open: ReturnType<typeof openIngestPath> | undefined;
  try {
    redis = await startRedis(null, {
      wrapper: ['valgrind', '--tool=callgrind', `--callgrind-out-file=${path.join(dir, 'callgrind.out')}`],
      startTimeoutMs: START_TIMEOUT_MS,
    });
    subscriber = new Redis(redis.url, { retryStrategy: () => 200 });
    subscriber.on('error', () => undefined);
    let received = 0;
    subscriber.on('messageBuffer', () => received++);
    await subscriber.subscribe(redisChannels.scopeEvents(feed));
    open = openIngestPath(pathName, redis.url, parseRetention(''), DEDUPE_WINDOW_MS);
    const publisher = open.publisher;
    let k = 0;
    const publishBatches = async (count: number) => {
      const lanes = Array.from({ length: IN_FLIGHT }, async () => {
        while (k < count) await publisher.publish(batchEvents(feed, 'i', k++));
      });
      await Promise.all(lanes);
    };
    await publishBatches(WARMUP_BATCHES);
    const until = async (n: number) => {
      const end = Date.now() + 120_000;
      while (received < n) {
        if (Date.now() > end) throw new Error(`the subscriber got ${received} of ${n} events`);
        await sleep(50);
      }
    };
    await until(WARMUP_BATCHES * INGEST_BATCH);
    const dumpsBefore = new Set(readdirSync(dir));
    execFileSync('callgrind_control', ['--zero', String(redis.pid)], { stdio: 'ignore' });
    await publishBatches(WARMUP_BATCHES + events / INGEST_BATCH);
    await until((WARMUP_BATCHES + events / INGEST_BATCH) * INGEST_BATCH);
    execFileSync('callgrind_control', ['--dump', String(redis.pid)], { stdio: 'ignore' });
    return {
      path: pathName,
      feed,
      events,
      instructionsPerEvent: Math.round(dumpedInstructions(dir, dumpsBefore) / events),
    };
  } finally {
    await open?.close();
    subscriber?.disconnect();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runIngestInstructions(argv: string[], progress: (line: string) => void): Promise<void> {
  const { events } = parseInstructionArgs(argv);
  const rows: InstructionRow[] = [];
  for (const feed of FEEDS) {
    for (const pathName of PATHS) {
      const row = await measure(pathName, feed, events);
      progress(`ingest instructions ${pathName} ${feed}: ${row.instructionsPerEvent} per event`);
      rows.push(row);
    }
  }
  const file = path.join(resultsDir, `ingest-instructions-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
  writeFileSync(file, instructionReport(rows));
  progress(`ingest instructions report: ${path.relative(process.cwd(), file)}`);
}

export function instructionReport(rows: readonly InstructionRow[]): string {
  const of = (p: IngestPath, f: Feed) => rows.find((r) => r.path === p && r.feed === f);
  const lines = [
    '# Redis instructions per ingested event (issue 16)',
    '',
    `Counted by valgrind (callgrind) in redis-server's whole process, ${rows[0]?.events ?? 0} events per row after a warm-up,`,
    `1,000-event batches, ${IN_FLIGHT} in flight, one subscriber on the scope's channel; the chunked path's dedupe window`,
    `${DEDUPE_WINDOW_MS} ms, so keyed events' claims are both made and forgotten in the run. Independent of machine load:`,
    'µs per event ≈ instructions ÷ (instructions per cycle × clock).',
    '',
    '| feed | per-event path | chunked path | chunked ÷ per-event |',
    '|---|---|---|---|',
  ];
  for (const feed of FEEDS) {
    const old = of('per-event', feed);
    const now = of('chunked', feed);
    if (!old || !now) continue;
    lines.push(
      `| ${feed} | ${old.instructionsPerEvent} | ${now.instructionsPerEvent} | ${(now.instructionsPerEvent / old.instructionsPerEvent).toFixed(2)}× |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
