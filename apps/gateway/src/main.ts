import { setFlagsFromString } from 'node:v8';
import { createBackplane } from '@hydra/backplane';
import { ConfigError } from '@hydra/config';
import { parseGatewayConfig } from './config.js';
import { Gateway } from './gateway.js';
import { createLogger } from './logger.js';
import { GatewayMetrics } from './metrics.js';

/**
 * `node apps/gateway/dist/main.js`: one gateway replica on Redis.
 * Exit codes: 0 after a graceful drain, 1 on bad configuration or a failed start.
 */
async function main(): Promise<void> {
  keepYoungGenerationSmall();
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
  const logger = createLogger(config.logLevel);
  if (config.redisUrl === undefined) {
    logger.fatal(
      'HYDRA_REDIS_URL is required for a gateway replica (use `pnpm start` for the embedded single-process mode)',
    );
    process.exit(1);
  }
  const metrics = new GatewayMetrics();
  const backplane = createBackplane({
    kind: 'redis',
    url: config.redisUrl,
    retention: config.retention,
    connectionEvents: metrics.redisClient,
  });
  let gateway: Gateway;
  try {
    gateway = await Gateway.start({ config, backplane, logger, metrics });
  } catch (err) {
    logger.fatal({ err }, 'gateway failed to start');
    await backplane.close().catch(() => undefined);
    process.exit(1);
  }
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Watchdog: never outlive the drain window by much, whatever hangs.
    setTimeout(() => {
      logger.error('shutdown watchdog fired');
      process.exit(1);
    }, config.drainMs + 10_000).unref();
    gateway
      .shutdown()
      .then(() => backplane.close())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
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
