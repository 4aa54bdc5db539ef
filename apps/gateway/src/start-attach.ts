import { describeError } from './describe-error.js';
import type { Logger } from './logger.js';
import { retryUntilDone } from './retry.js';

/**
 * Longest the start waits for the backplane before it listens anyway (not
 * ready). A failed attach ends sooner (ioredis fails a command within a
 * reconnect delay), but a Redis Cluster with a shard that has no master keeps
 * the commands queued until the shard is served again: without this bound
 * the gateway would not even answer its probes meanwhile.
 */
export const ATTACH_WAIT_MS = 5000;

export interface StartAttach {
  /**
   * How the first attempt stood when the start stopped waiting for it: true
   * (attached), false (failed), or 'pending' (no answer within ATTACH_WAIT_MS).
   */
  readonly firstAnswer: Promise<boolean | 'pending'>;
  /**
   * True once attached (the first attempt, else retries with capped backoff,
   * never two attempts at once), false if `cancelled` stopped the retries.
   */
  readonly attached: Promise<boolean>;
}

/** The gateway's attach to the backplane at start (guarantee 8): the start listens after `firstAnswer`. */
export function startAttach(attach: () => Promise<void>, cancelled: () => boolean, log: Logger): StartAttach {
  const firstAttempt = attach().then(
    () => true,
    (err: unknown) => {
      log.warn({ err: describeError(err) }, 'backplane unavailable at start; listening, not ready, retrying');
      return false;
    },
  );
  let waited: NodeJS.Timeout | undefined;
  const firstAnswer = Promise.race([
    firstAttempt,
    new Promise<'pending'>((resolve) => {
      waited = setTimeout(() => resolve('pending'), ATTACH_WAIT_MS);
    }),
  ]).finally(() => clearTimeout(waited));
  // Found by the Cluster readiness test (faults-cluster.test.ts): a shard without a master held the start
  // for as long as it lasted, with no probe answering. Now the start listens and the attempt goes on.
  void firstAnswer.then((answer) => {
    if (answer !== 'pending') return;
    log.warn(
      { waitedMs: ATTACH_WAIT_MS },
      'backplane not answering at start (a Redis Cluster shard without a master?); listening, not ready, waiting',
    );
  });
  const attached = firstAttempt.then((done) =>
    done
      ? true
      : retryUntilDone(attach, {
          cancelled,
          onFailure: (err, attempt) => {
            if (attempt % 10 === 1) log.warn({ err: describeError(err), attempt }, 'backplane still unavailable');
          },
        }),
  );
  return { firstAnswer, attached };
}
