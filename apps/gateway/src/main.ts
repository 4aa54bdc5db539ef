import { setFlagsFromString } from 'node:v8';
import { type Backplane, createBackplane, type RedisBackplane } from '@hydra/backplane';
import { ConfigError, describeRedisTarget } from '@hydra/config';
import { logRedisRevivals } from '@hydra/metrics';
import { guardStdio, Shutdown } from '@hydra/runtime';
import { reportBusDrops } from './bus-drops.js';
import { parseGatewayConfig } from './config.js';
import { Gateway } from './gateway.js';
import { createLogger, type Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';

/**
 * `node apps/gateway/dist/main.js`: one gateway replica on Redis.
 * Exit codes: 0 after a graceful drain (or a SIGTERM/SIGINT before the
 * gateway started: nothing was held but the Redis connections, which are
 * closed), 1 on bad configuration or a failed start.
 *
 * The signal handlers (the one Shutdown of @hydra/runtime) are installed
 * before anything asynchronous starts, so a signal at any point of the
 * start-up ends in a clean exit 0, never in the default "killed by SIGTERM"
 * (Kubernetes may stop a pod that just started).
 */
async function main(): Promise<void> {
  keepYoungGenerationSmall();
  // A closed stdout or stderr (`| cat` whose reader is gone) drops output; it never ends or hangs the process.
  guardStdio();
  let logger: Logger | null = null;
  let backplane: Backplane | null = null;
  let gateway: Gateway | null = null;
  let drainMs = 0;
  // Stop accepting and drain (the gateway: readiness fails, clients get 1001, limiter slots released),
  // then close the backplane. Not started yet: no client was admitted, so no limiter slot is held.
  const shutdown = new Shutdown({
    logger: () => logger,
    // Never outlive the drain window by much, whatever hangs.
    watchdogMs: () => drainMs + 10_000,
    steps: [
      { name: 'gateway', run: () => gateway?.shutdown() },
      { name: 'backplane', run: () => backplane?.close() },
    ],
  }).handleSignals();

  let config: ReturnType<typeof parseGatewayConfig>;
  try {
    config = parseGatewayConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`hydra-gateway: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  drainMs = config.drainMs;
  logger = createLogger(config.logLevel);
  if (config.redis === undefined) {
    logger.fatal(
      'a gateway replica needs Redis: set HYDRA_REDIS_URL, HYDRA_REDIS_SENTINELS or HYDRA_REDIS_CLUSTER_NODES (use `pnpm start` for the embedded single-process mode)',
    );
    process.exit(1);
  }
  logger.info({ nodeId: config.nodeId, redis: describeRedisTarget(config.redis) }, 'starting');
  const metrics = new GatewayMetrics();
  backplane = createBackplane({
    kind: 'redis',
    target: config.redis,
    retention: config.retention,
    connectionEvents: logRedisRevivals(metrics.redisClient, logger),
    onBusDrop: reportBusDrops(metrics, logger),
  });
  let started: Gateway;
  try {
    started = await Gateway.start({ config, backplane, logger, metrics });
  } catch (err) {
    // A signal arrived meanwhile: its shutdown closes the backplane and exits 0.
    if (!shutdown.begun) logger.fatal({ err }, 'gateway failed to start');
    await shutdown.run('start failed', 1);
    return;
  }
  if (shutdown.begun) {
    // A signal arrived during the start: the shutdown is closing the backplane; stop serving too.
    void started.shutdown().catch(() => undefined);
    return;
  }
  gateway = started;
  // Redis Cluster: which master holds each scope (docs/operations.md, moving a scope).
  const placement = await (backplane as RedisBackplane).scopePlacement().catch(() => undefined);
  if (placement !== undefined) logger.info({ placement }, 'scope placement');
}

void main();

/**
 * Keeps V8's young generation at its initial size (1 MB semi-spaces) instead
 * of letting it double up to 16 MB per semi-space (32 MB resident) during a
 * burst of connects. The gateway's JavaScript runs per connect and close
 * only (fan-out is native), so a large nursery buys little, while V8 keeps
 * a grown one resident for as long as the process allocates at all: on an
 * idle gateway that was most of the RSS per connection (issue 6). An
 * operator who sizes the young generation (`--max-semi-space-size` on the
 * command line or in NODE_OPTIONS) keeps their setting.
 */
function keepYoungGenerationSmall(): void {
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (/semi[-_]space/.test(flags)) return;
  setFlagsFromString('--semi-space-growth-factor=1');
}
