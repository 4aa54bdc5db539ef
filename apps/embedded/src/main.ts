import { randomBytes } from 'node:crypto';
import { type Backplane, createBackplane } from '@hydra/backplane';
import { createLogger, Gateway, ConfigError as GatewayConfigError, parseGatewayConfig } from '@hydra/gateway';
import { SCOPES } from '@hydra/protocol';
import {
  createDemoFeed,
  createIngestServer,
  createPublisherRegistry,
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
 */
const DEMO_KEY_TTL_SECONDS = 24 * 3600;
const DEMO_KEY_NAME = 'demo (pnpm start)';

async function main(): Promise<void> {
  // The embedded mode's own defaults: demo feed on, a short drain (few local clients).
  const env: NodeJS.ProcessEnv = { HYDRA_DRAIN_MS: '2000', HYDRA_DEMO_FEED: 'true', ...process.env };
  let gatewayConfig: ReturnType<typeof parseGatewayConfig>;
  let publisherConfig: ReturnType<typeof parsePublisherConfig>;
  let generatedIngestToken: string | undefined;
  try {
    gatewayConfig = parseGatewayConfig(env);
    if (gatewayConfig.redisUrl !== undefined && (env['HYDRA_INGEST_TOKEN'] ?? '') === '') {
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
  const logger = createLogger(gatewayConfig.logLevel);
  const backplane: Backplane = createBackplane(
    gatewayConfig.redisUrl === undefined
      ? { kind: 'memory', retention: gatewayConfig.retention }
      : { kind: 'redis', url: gatewayConfig.redisUrl, retention: gatewayConfig.retention },
  );
  const gateway = await Gateway.start({ config: gatewayConfig, backplane, logger }).catch(async (err: unknown) => {
    logger.fatal({ err }, 'gateway failed to start');
    await backplane.close();
    process.exit(1);
  });
  const ingest = createIngestServer({
    backplane,
    config: publisherConfig,
    logger: logger.child({ component: 'publisher' }),
    registry: createPublisherRegistry(),
  });
  // Open to the network only with a token the operator chose (and so can hand to other publishers).
  const ingestHost =
    publisherConfig.ingestToken === undefined || generatedIngestToken !== undefined ? '127.0.0.1' : '0.0.0.0';
  const ingestAddress = await ingest.listen(publisherConfig.port, ingestHost);
  const feed = publisherConfig.demoFeed ? createDemoFeed({ seed: publisherConfig.demoSeed }) : null;
  feed?.start(backplane.bus, { onError: (err) => logger.warn({ err }, 'demo feed publish failed') });
  const created = await backplane.keys.create({
    scopes: [...SCOPES],
    name: DEMO_KEY_NAME,
    ...(backplane.kind === 'redis' ? { ttlSeconds: DEMO_KEY_TTL_SECONDS } : {}),
  });
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
  process.stdout.write(`${banner}\n`);
  logger.info({ port: gateway.port, adminPort: gateway.adminPort, ingestPort: ingestAddress.port }, 'embedded ready');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown watchdog fired');
      process.exit(1);
    }, gatewayConfig.drainMs + 10_000).unref();
    (async () => {
      await feed?.stop();
      await gateway.shutdown();
      await ingest.close();
      // After the drain, so this process's clients get 1001; other gateways on this Redis close theirs with 1008.
      await backplane.keys.revoke(created.record.id).catch((err: unknown) => {
        logger.warn({ err, keyId: created.record.id }, 'could not revoke the demo key; it expires by itself');
      });
      await backplane.close();
    })()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  // `on`, not `once`: a terminal's Ctrl-C signals the whole group and pnpm then forwards a
  // second SIGINT to its child (this process, via `exec` in the start script); a repeat
  // joins the shutdown already running instead of killing the process by default action.
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
