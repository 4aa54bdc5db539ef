import { randomBytes } from 'node:crypto';
import { type Backplane, createBackplane } from '@hydra/backplane';
import {
  createLogger,
  Gateway,
  ConfigError as GatewayConfigError,
  GatewayMetrics,
  type Logger,
  parseGatewayConfig,
} from '@hydra/gateway';
import { SCOPES } from '@hydra/protocol';
import {
  createDemoFeed,
  createIngestServer,
  createPublisherRegistry,
  type DemoFeed,
  type IngestServer,
  ConfigError as PublisherConfigError,
  parsePublisherConfig,
} from '@hydra/publisher';

/**
 * `pnpm start`: the whole product in one process for a first look — gateway
 * (:8080), ingest API (:8090 on loopback), demo feed — on the in-memory
 * backplane, or on Redis when HYDRA_REDIS_URL is set. Prints the stream URL,
 * a demo key for every scope and a client command. Ctrl-C drains clients
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
  demoKeyId: string | null;
  drainMs: number;
}

async function main(): Promise<void> {
  const running: Running = {
    logger: null,
    backplane: null,
    gateway: null,
    ingest: null,
    feed: null,
    demoKeyId: null,
    drainMs: 0,
  };
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger?.info({ signal }, 'shutting down');
    setTimeout(() => {
      running.logger?.error('shutdown watchdog fired');
      process.exit(1);
    }, running.drainMs + 10_000).unref();
    shutDown(running)
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        running.logger?.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  // `on`, not `once`: a terminal's Ctrl-C signals the whole group and pnpm then forwards a
  // second SIGINT to its child (this process, via `exec` in the start script); a repeat
  // joins the shutdown already running instead of killing the process by default action.
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  // The embedded mode's own defaults: demo feed on, a short drain (few local clients).
  const env: NodeJS.ProcessEnv = { HYDRA_DRAIN_MS: '2000', HYDRA_DEMO_FEED: 'true', ...process.env };
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
  const logger = createLogger(gatewayConfig.logLevel);
  running.logger = logger;
  const metrics = new GatewayMetrics();
  const backplane: Backplane = createBackplane(
    gatewayConfig.redis === undefined
      ? { kind: 'memory', retention: gatewayConfig.retention }
      : {
          kind: 'redis',
          target: gatewayConfig.redis,
          retention: gatewayConfig.retention,
          connectionEvents: metrics.redisClient,
        },
  );
  running.backplane = backplane;

  try {
    const gateway = await Gateway.start({ config: gatewayConfig, backplane, logger, metrics });
    running.gateway = gateway;
    if (stopping) return; // a signal during the start: its shutdown stops what is up
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
    const created = await backplane.keys.create({
      scopes: [...SCOPES],
      name: DEMO_KEY_NAME,
      ...(backplane.kind === 'redis' ? { ttlSeconds: DEMO_KEY_TTL_SECONDS } : {}),
    });
    running.demoKeyId = created.record.id;
    if (stopping) return;
    const feed = publisherConfig.demoFeed ? createDemoFeed({ seed: publisherConfig.demoSeed }) : null;
    running.feed = feed;
    feed?.start(backplane.bus, { onError: (err) => logger.warn({ err }, 'demo feed publish failed') });
    const ingestUrl = `http://${ingestHost === '0.0.0.0' ? 'localhost' : ingestHost}:${ingestAddress.port}/v1/events`;
    const host = gatewayConfig.host === '0.0.0.0' ? 'localhost' : gatewayConfig.host;
    const scheme = gatewayConfig.tls ? 'wss' : 'ws';
    const streamUrl = `${scheme}://${host}:${gateway.port}/v1/stream`;
    const banner = [
      '',
      `Hydra stream is running (${backplane.kind} backplane${feed ? `, demo feed seed ${publisherConfig.demoSeed}` : ''}).`,
      '',
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
    if (stopping) return;
    stopping = true;
    logger.fatal({ err }, 'failed to start');
    await shutDown(running).catch(() => undefined);
    process.exit(1);
  }
}

/**
 * Stops what `running` holds, in order: demo feed, gateway (clients get
 * 1001), ingest; then, whatever failed before, revokes the demo key (after
 * the drain, so this process's clients got their 1001; other gateways on
 * this Redis close theirs with 1008) and closes the backplane. Rejects with
 * the first failure, once everything was attempted.
 */
async function shutDown(running: Running): Promise<void> {
  const { logger, backplane } = running;
  try {
    await running.feed?.stop();
    await running.gateway?.shutdown();
    await running.ingest?.close();
  } finally {
    if (backplane && running.demoKeyId !== null) {
      const keyId = running.demoKeyId;
      await backplane.keys.revoke(keyId).catch((err: unknown) => {
        logger?.warn({ err, keyId }, 'could not revoke the demo key; it expires by itself');
      });
    }
    await backplane?.close();
  }
}

void main();
