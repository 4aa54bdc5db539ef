import type { Logger } from './logger.js';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void>;
}

export interface ShutdownOptions {
  logger: Logger;
  /** Run in order; a failing step is logged and the next one still runs. */
  steps: readonly ShutdownStep[];
  /** If the steps have not finished by then, the process exits with 1. */
  watchdogMs: number;
  /** Injected by tests; defaults to process.exit. */
  exit?: (code: number) => void;
}

/**
 * Builds an idempotent shutdown: the first call runs the steps (stop
 * accepting → finish in-flight work → close the backplane), later calls
 * return the same promise. A watchdog guarantees the process ends even if a
 * step hangs. On success the exit code is 0 and the process ends by itself
 * once its handles are closed.
 */
export function createShutdown(options: ShutdownOptions): (reason: string) => Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running: Promise<void> | undefined;

  const run = async (reason: string) => {
    const { logger } = options;
    logger.info({ reason }, 'shutting down');
    let completed = false;
    const watchdog = setTimeout(() => {
      if (completed) {
        logger.warn(
          { resources: process.getActiveResourcesInfo() },
          'shutdown finished but handles keep the process alive; exiting',
        );
        exit(0);
      } else {
        logger.error({ watchdogMs: options.watchdogMs }, 'shutdown did not finish in time; exiting');
        exit(1);
      }
    }, options.watchdogMs);
    watchdog.unref();
    let failed = false;
    for (const step of options.steps) {
      try {
        await step.run();
      } catch (err) {
        failed = true;
        logger.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    completed = true;
    process.exitCode = failed ? 1 : 0;
    logger.info('shutdown complete');
  };

  return (reason) => {
    running ??= run(reason);
    return running;
  };
}
