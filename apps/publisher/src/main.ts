import { type Backplane, createBackplane, ExpirySweeper, RetentionWatch } from '@hydra/backplane';
import { createDemoFeed } from '@hydra/demo-feed';
import { logRedisRevivals, RedisClientMetrics } from '@hydra/metrics';
import { guardStdio, Shutdown } from '@hydra/runtime';
import { ConfigError, type PublisherConfig, parsePublisherConfig } from './config.js';
import { createIngestServer } from './ingest-server.js';
import { createLogger } from './logger.js';
import { createPublisherRegistry } from './metrics.js';

/** Longest a SIGTERM may take before the process gives up and exits 1 (inside Kubernetes' default 30 s). */
const SHUTDOWN_WATCHDOG_MS = 20_000;
const REQUEST_GRACE_MS = 10_000;
/** How often the publisher compares its HYDRA_RETENTION with the backplane's. */
const RETENTION_CHECK_MS = 30_000;

async function main(): Promise<void> {
  // A closed stdout or stderr (`| cat` whose reader is gone) drops output; it never ends or hangs the process.
  guardStdio();
  let config: PublisherConfig;
  try {
    config = parsePublisherConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`hydra publisher: invalid configuration: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }

  const logger = createLogger({ level: config.logLevel });
  const registry = createPublisherRegistry();
  const backplane: Backplane =
    config.redis === undefined
      ? createBackplane({ kind: 'memory', retention: config.retention, dedupeWindowMs: config.dedupeWindowMs })
      : createBackplane({
          kind: 'redis',
          target: config.redis,
          minReplicas: config.minReplicas,
          replicaTimeoutMs: config.replicaTimeoutMs,
          dedupeWindowMs: config.dedupeWindowMs,
          retention: config.retention,
          connectionEvents: logRedisRevivals(new RedisClientMetrics(registry), logger),
        });
  const ingest = createIngestServer({ backplane, config, logger, registry, closeGraceMs: REQUEST_GRACE_MS });
  const demo = config.demoFeed
    ? createDemoFeed({
        seed: config.demoSeed,
        aircraft: config.demoAircraft,
        vessels: config.demoVessels,
      })
    : null;
  // Announces entity expiry (exactly once, whatever the number of sweeping publishers and gateways).
  const sweeper = new ExpirySweeper({
    backplane,
    onError: (err) => logger.warn({ err }, 'expiry sweep failed'),
  });

  // Every process on one backplane must agree on HYDRA_RETENTION (policy in retention-agreement.ts).
  const retentionWatch = new RetentionWatch({
    agreement: backplane.retentionAgreement,
    intervalMs: RETENTION_CHECK_MS,
    onMismatch: (check) =>
      logger.error(
        { ours: check.ours, theirs: check.theirs },
        'HYDRA_RETENTION differs from another process on this backplane: every gateway and publisher must use the same value',
      ),
    onError: (err) => logger.debug({ err }, 'retention check failed; retrying'),
  });

  // Stop producing (demo feed, sweeper, retention watch), stop accepting and finish in-flight requests
  // (ingest server), then close the backplane. A repeated signal joins the shutdown already running.
  const shutdown = new Shutdown({
    logger: () => logger,
    watchdogMs: SHUTDOWN_WATCHDOG_MS,
    steps: [
      { name: 'demo feed', run: async () => demo?.stop() },
      { name: 'expiry sweeper', run: () => sweeper.stop() },
      { name: 'retention watch', run: () => retentionWatch.stop() },
      { name: 'ingest server', run: () => ingest.close() },
      { name: 'backplane', run: () => backplane.close() },
    ],
  }).handleSignals();

  try {
    const address = await ingest.listen(config.port);
    logger.info(
      { port: address.port, host: address.address, backplane: backplane.kind, authenticated: !!config.ingestToken },
      'publisher listening',
    );
    if (config.ingestToken === undefined) {
      logger.warn('HYDRA_INGEST_TOKEN is not set: ingest is unauthenticated and listens on loopback only');
    }
    sweeper.start();
    retentionWatch.start();
    if (demo) {
      demo.start(backplane.bus, { onError: (err) => logger.warn({ err }, 'demo feed publish failed') });
      logger.info({ seed: config.demoSeed }, 'demo feed running');
    }
  } catch (err) {
    logger.fatal({ err, port: config.port }, 'cannot listen');
    await shutdown.run('listen failed', 1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`hydra publisher: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
