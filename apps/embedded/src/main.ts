import { randomBytes } from 'node:crypto';
import { type Backplane, type CreatedKey, createBackplane } from '@hydra/backplane';
import { createDemoFeed, type DemoFeed } from '@hydra/demo-feed';
import {
  Gateway,
  ConfigError as GatewayConfigError,
  GatewayMetrics,
  type Logger,
  logRedisRevivals,
  parseGatewayConfig,
  reportBusDrops,
} from '@hydra/gateway';
import { SCOPES } from '@hydra/protocol';
import {
  createIngestServer,
  createPublisherRegistry,
  type IngestServer,
  ConfigError as PublisherConfigError,
  parsePublisherConfig,
} from '@hydra/publisher';
import { createLogger, guardStdio, Shutdown, type ShutdownStep } from '@hydra/runtime';

/**
 * `pnpm start`: the whole product in one process for a first look — gateway
 * (:8080) with the web console at `/`, ingest API (:8090 on loopback), demo
 * feed — on the in-memory backplane, or on Redis when HYDRA_REDIS_URL is set.
 * Prints the console URL, the stream URL, a demo key for every scope and a
 * client command. Ctrl-C drains clients
 * with 1001 and exits 0.
 *
 * On Redis the demo key outlives the process unless removed, and every
 * gateway on that Redis accepts it: it is created with DEMO_KEY_TTL_SECONDS
 * and revoked on a clean shutdown (after the local clients got their 1001).
 * Ingest on Redis needs a bearer token; without HYDRA_INGEST_TOKEN one is
 * generated for this run, printed in the banner only, and ingest stays on
 * loopback.
 *
 * The signal handlers are installed before anything starts: a Ctrl-C at any
 * point stops what has started (the demo key is revoked whenever it was
 * created, even if an earlier shutdown step failed) and exits 0.
 */
const DEMO_KEY_TTL_SECONDS = 24 * 3600;
const DEMO_KEY_NAME = 'demo (pnpm start)';

/** What has started so far, for the shutdown: each part is set once it is up. */
interface Running {
  logger: Logger | null;
  backplane: Backplane | null;
  gateway: Gateway | null;
  ingest: IngestServer | null;
  feed: DemoFeed | null;
  /** The demo key's creation, from the moment it is sent to the backplane (it may land after a signal). */
  demoKey: Promise<CreatedKey> | null;
  drainMs: number;
}

async function main(): Promise<void> {
  // A closed stdout or stderr (`pnpm start | cat`, then Ctrl-C) drops output; it never ends or hangs the process.
  guardStdio();
  const running: Running = {
    logger: null,
    backplane: null,
    gateway: null,
    ingest: null,
    feed: null,
    demoKey: null,
    drainMs: 0,
  };
  const shutdown = new Shutdown({
    logger: () => running.logger,
    watchdogMs: () => running.drainMs + 10_000,
    steps: shutdownSteps(running),
  }).handleSignals();

  // The embedded mode's own defaults: demo feed and web console on, a short drain (few local clients).
  const env: NodeJS.ProcessEnv = {
    HYDRA_DRAIN_MS: '2000',
    HYDRA_DEMO_FEED: 'true',
    HYDRA_CONSOLE: 'true',
    ...process.env,
  };
  let gatewayConfig: ReturnType<typeof parseGatewayConfig>;
  let publisherConfig: ReturnType<typeof parsePublisherConfig>;
  let generatedIngestToken: string | undefined;
  try {
    gatewayConfig = parseGatewayConfig(env);
    if (gatewayConfig.redis !== undefined && (env['HYDRA_INGEST_TOKEN'] ?? '') === '') {
      generatedIngestToken = randomBytes(24).toString('base64url');
    }
    publisherConfig = parsePublisherConfig(
      generatedIngestToken === undefined ? env : { ...env, HYDRA_INGEST_TOKEN: generatedIngestToken },
    );
  } catch (err) {
    if (err instanceof GatewayConfigError || err instanceof PublisherConfigError) {
      console.error(`hydra: ${(err as Error).message}`);
      process.exit(1);
    }
    throw err;
  }
  running.drainMs = gatewayConfig.drainMs;
  const logger = createLogger({ service: 'embedded', level: gatewayConfig.logLevel });
  running.logger = logger;
  const metrics = new GatewayMetrics();
  const backplane: Backplane = createBackplane(
    gatewayConfig.redis === undefined
      ? {
          kind: 'memory',
          retention: gatewayConfig.retention,
          onBusDrop: reportBusDrops(metrics, logger),
          dedupeWindowMs: publisherConfig.dedupeWindowMs,
        }
      : {
          kind: 'redis',
          target: gatewayConfig.redis,
          retention: gatewayConfig.retention,
          connectionEvents: logRedisRevivals(metrics.redisClient, logger),
          onBusDrop: reportBusDrops(metrics, logger),
          dedupeWindowMs: publisherConfig.dedupeWindowMs,
        },
  );
  running.backplane = backplane;

  try {
    const gateway = await Gateway.start({ config: gatewayConfig, backplane, logger, metrics });
    running.gateway = gateway;
    if (shutdown.begun) return; // a signal during the start: its shutdown stops what is up
    const ingest = createIngestServer({
      backplane,
      config: publisherConfig,
      logger: logger.child({ component: 'publisher' }),
      registry: createPublisherRegistry(),
    });
    running.ingest = ingest;
    // Open to the network only with a token the operator chose (and so can hand to other publishers).
    const ingestHost =
      publisherConfig.ingestToken === undefined || generatedIngestToken !== undefined ? '127.0.0.1' : '0.0.0.0';
    const ingestAddress = await ingest.listen(publisherConfig.port, ingestHost);
    if (shutdown.begun) return;
    // Held as a promise: a signal during the creation must still see, and revoke, the key it creates.
    running.demoKey = backplane.keys.create({
      scopes: [...SCOPES],
      name: DEMO_KEY_NAME,
      ...(backplane.kind === 'redis' ? { ttlSeconds: DEMO_KEY_TTL_SECONDS } : {}),
    });
    const created = await running.demoKey;
    if (shutdown.begun) return;
    const feed = publisherConfig.demoFeed
      ? createDemoFeed({
          seed: publisherConfig.demoSeed,
          aircraft: publisherConfig.demoAircraft,
          vessels: publisherConfig.demoVessels,
        })
      : null;
    running.feed = feed;
    feed?.start(backplane.bus, { onError: (err) => logger.warn({ err }, 'demo feed publish failed') });
    const ingestUrl = `http://${ingestHost === '0.0.0.0' ? 'localhost' : ingestHost}:${ingestAddress.port}/v1/events`;
    const host = gatewayConfig.host === '0.0.0.0' ? 'localhost' : gatewayConfig.host;
    const scheme = gatewayConfig.tls ? 'wss' : 'ws';
    const streamUrl = `${scheme}://${host}:${gateway.port}/v1/stream`;
    // The key rides in the fragment: browsers never send it to the server (the page reads it from there).
    const consoleUrl = `${gatewayConfig.tls ? 'https' : 'http'}://${host}:${gateway.port}/#key=${created.key}`;
    const banner = [
      '',
      `Hydra stream is running (${backplane.kind} backplane${feed ? `, demo feed seed ${publisherConfig.demoSeed}` : ''}).`,
      '',
      ...(gatewayConfig.console ? [`  Console      ${consoleUrl}`] : []),
      `  Stream URL   ${streamUrl}`,
      `  Demo API key ${created.key}   (all scopes: ${SCOPES.join(', ')}${
        backplane.kind === 'redis' ? '; expires in 24 h, revoked at Ctrl-C' : ''
      })`,
      `  Ingest       POST ${ingestUrl}`,
      ...(generatedIngestToken === undefined
        ? []
        : [`  Ingest token ${generatedIngestToken}   (generated for this run: HYDRA_INGEST_TOKEN was not set)`]),
      `  Metrics      http://localhost:${gateway.adminPort}/metrics`,
      '',
      '  Watch it:',
      `    pnpm hydra tail --url ${streamUrl} --key ${created.key}`,
      '  or with the seed JavaScript client:',
      `    HYDRA_STREAM_URL=${streamUrl} HYDRA_API_KEY=${created.key} node --experimental-websocket examples/seed-client.mjs`,
      '',
      'Ctrl-C stops it (clients are closed with 1001).',
      '',
    ].join('\n');
    // The banner first: 'embedded ready' in the log promises it is printed (tests wait for that line).
    process.stdout.write(`${banner}\n`);
    logger.info({ port: gateway.port, adminPort: gateway.adminPort, ingestPort: ingestAddress.port }, 'embedded ready');
  } catch (err) {
    if (shutdown.begun) return; // a signal meanwhile: its shutdown runs and exits 0
    logger.fatal({ err }, 'failed to start');
    await shutdown.run('start failed', 1);
  }
}

/**
 * The shutdown of what `running` holds, in order: demo feed, gateway (stop
 * accepting, clients drained with 1001), ingest; then, whatever failed
 * before, the demo key is revoked (after the drain, so this process's
 * clients got their 1001; other gateways on this Redis close theirs with
 * 1008), once its creation settled if a signal came while it was on its
 * way; last, the backplane closes.
 */
function shutdownSteps(running: Running): ShutdownStep[] {
  return [
    { name: 'demo feed', run: () => running.feed?.stop() },
    { name: 'gateway', run: () => running.gateway?.shutdown() },
    { name: 'ingest', run: () => running.ingest?.close() },
    {
      name: 'demo key',
      run: async () => {
        const created = await running.demoKey?.catch(() => null);
        if (!created || !running.backplane) return;
        const keyId = created.record.id;
        await running.backplane.keys.revoke(keyId).catch((err: unknown) => {
          running.logger?.warn({ err, keyId }, 'could not revoke the demo key; it expires by itself');
        });
      },
    },
    { name: 'backplane', run: () => running.backplane?.close() },
  ];
}

void main();
