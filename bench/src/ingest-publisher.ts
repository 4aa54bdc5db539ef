/**
 * One publisher process of the ingest scenario (forked by ingest.ts): the
 * real ingest server (@hydra/publisher) over one of the publish paths of
 * ingest-paths.ts. argv: `<path> <redisUrl> <retention>`; it reports
 * `{ port }` over IPC once listening and exits on `stop` or when the parent goes.
 */
import { parseRetention } from '@hydra/backplane';
import { createIngestServer, createLogger, createPublisherRegistry } from '@hydra/publisher';
import { BENCH_INGEST_TOKEN, INGEST_PATHS, type IngestPath, openIngestPath } from './ingest-paths.js';

async function main(): Promise<void> {
  const [path, url, retentionText] = process.argv.slice(2);
  if (!INGEST_PATHS.includes(path as IngestPath) || url === undefined) {
    throw new Error(`usage: ingest-publisher.js <${INGEST_PATHS.join('|')}> <redisUrl> [retention]`);
  }
  const open = openIngestPath(path as IngestPath, url, parseRetention(retentionText));
  const server = createIngestServer({
    backplane: {
      bus: {
        publish: (events) => open.publisher.publish(events),
        subscribe: () => Promise.reject(new Error('the ingest bench publisher does not subscribe')),
        stats: { droppedMessages: 0, handlerErrors: 0, silentResubscribes: 0 },
      },
      isHealthy: () => true,
    },
    config: { ingestToken: BENCH_INGEST_TOKEN, maxBodyBytes: 8 << 20, maxItemBytes: 64 * 1024 },
    logger: createLogger({ level: 'silent' }),
    registry: createPublisherRegistry(),
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const stop = async () => {
    await server.close();
    await open.close();
    process.exit(0);
  };
  process.on('message', (m) => {
    if (m === 'stop') void stop();
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ port });
}

main().catch((err: unknown) => {
  process.stderr.write(`ingest-publisher: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
