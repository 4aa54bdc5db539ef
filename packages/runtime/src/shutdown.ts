import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  /** Stops one part; a part that never started resolves at once. */
  run: () => Promise<void> | void;
}

export interface ShutdownOptions {
  /**
   * Run in order, each awaited; a failing step is logged and the next one
   * still runs. The documented order is: stop accepting (readiness fails, no
   * new connections or requests), drain (clients told 1001, in-flight
   * requests finished), then close what the process holds (its own keys,
   * the backplane).
   */
  steps: readonly ShutdownStep[];
  /**
   * If the steps have not finished this long after the shutdown began, the
   * process exits 1 whatever hangs. A function, read when the shutdown
   * begins: a signal may arrive before the configuration (the drain window)
   * is known.
   */
  watchdogMs: number | (() => number);
  /** The process's logger once it has one (a signal may precede it). */
  logger?: () => Logger | null | undefined;
  /** Injected by tests; defaults to process.exit. */
  exit?: (code: number) => void;
}

/**
 * A process's one shutdown: idempotent (the first run() starts it, every
 * later call, from a repeated signal or a failed start, returns the same
 * promise), guarded by a watchdog, and ending the process: exit 0 once every
 * step succeeded, 1 if one failed (or the caller's code, e.g. 1 for a failed
 * start). Install the signal handlers first, before anything asynchronous
 * starts, so a signal at any point of the start-up ends in this shutdown.
 */
export class Shutdown {
  readonly #options: ShutdownOptions;
  readonly #exit: (code: number) => void;
  #running: Promise<void> | undefined;

  constructor(options: ShutdownOptions) {
    this.#options = options;
    this.#exit = options.exit ?? ((code: number) => process.exit(code));
  }

  /** True once run() was called: code that is still starting up stops there. */
  get begun(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Runs the shutdown on SIGINT and SIGTERM. `on`, not `once`: a terminal's
   * Ctrl-C signals the whole process group and pnpm then forwards a second
   * SIGINT; a repeat joins the shutdown already running instead of killing
   * the process by the default action.
   */
  handleSignals(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): this {
    for (const signal of signals) process.on(signal, () => void this.run(signal));
    return this;
  }

  /** Starts the shutdown (once); `exitCode` is the code when every step succeeds. */
  run(reason: string, exitCode = 0): Promise<void> {
    this.#running ??= this.#run(reason, exitCode);
    return this.#running;
  }

  async #run(reason: string, exitCode: number): Promise<void> {
    const logger = () => this.#options.logger?.() ?? undefined;
    logger()?.info({ reason }, 'shutting down');
    const { watchdogMs } = this.#options;
    const bound = typeof watchdogMs === 'function' ? watchdogMs() : watchdogMs;
    const watchdog = setTimeout(() => {
      logger()?.error({ watchdogMs: bound }, 'shutdown did not finish in time; exiting');
      this.#exit(1);
    }, bound);
    watchdog.unref();
    let failed = false;
    for (const step of this.#options.steps) {
      try {
        await step.run();
      } catch (err) {
        failed = true;
        logger()?.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    clearTimeout(watchdog);
    const code = failed ? 1 : exitCode;
    logger()?.info({ exitCode: code }, 'shutdown complete');
    this.#exit(code);
  }
}
