import type { Redis } from 'ioredis';
import { redisKeys } from './redis-keys.js';
import { formatRetention, type RetentionPolicy } from './retention.js';

/**
 * Every process on one backplane must run with the same HYDRA_RETENTION:
 * gateways sweep entity expiry and read snapshots and history with it,
 * publishers write with it. A process whose policy differs (a half-done
 * rollout, a forgotten variable) would silently expire entities early or
 * resync clients that could have resumed. This detects it.
 *
 * Each process announces its policy when it starts (last writer wins) and
 * compares periodically: as long as two live processes disagree, at least
 * one of them sees a mismatch. Policies are not secrets and may be logged.
 */
export interface RetentionCheck {
  readonly agrees: boolean;
  /** This process's policy, formatted (formatRetention). */
  readonly ours: string;
  /** The policy last announced on the backplane (before ours, for announce()); undefined if none. */
  readonly announced: string | undefined;
}

export interface RetentionAgreement {
  /** Records this process's policy as the backplane's; reports against the one it replaced. */
  announce(): Promise<RetentionCheck>;
  /** Compares this process's policy with the one last announced. */
  check(): Promise<RetentionCheck>;
}

const compare = (ours: string, announced: string | undefined): RetentionCheck => ({
  agrees: announced === undefined || announced === ours,
  ours,
  announced,
});

/** On Redis: one STRING key (redisKeys.retentionPolicy), one command per call. */
export function redisRetentionAgreement(redis: Redis, policy: RetentionPolicy): RetentionAgreement {
  const ours = formatRetention(policy);
  const key = redisKeys.retentionPolicy();
  return {
    announce: async () => compare(ours, (await redis.set(key, ours, 'GET')) ?? undefined),
    // A key gone (Redis restarted empty, flushed, evicted) is announced again, so a later
    // process with another policy is still compared with ours.
    check: async () => {
      const announced = await redis.get(key);
      if (announced === null) await redis.set(key, ours, 'NX');
      return compare(ours, announced ?? undefined);
    },
  };
}

/** In memory there is one process, so it always agrees with itself. */
export function soleProcessRetentionAgreement(policy: RetentionPolicy): RetentionAgreement {
  const ours = formatRetention(policy);
  const agree = async () => compare(ours, ours);
  return { announce: agree, check: agree };
}

export interface RetentionWatchOptions {
  agreement: RetentionAgreement;
  /** How often to compare after the announcement. */
  intervalMs: number;
  /** Called with every result (e.g. to set a gauge). */
  onCheck?: (check: RetentionCheck) => void;
  /** Called when a mismatch is first seen, and again after each return to agreement. */
  onMismatch: (check: RetentionCheck) => void;
  /** Called when a check could not run (backplane unreachable); the next interval retries. */
  onError: (err: unknown) => void;
}

/** Announces at start(), then checks every interval until stop(); reports mismatches once per episode. */
export class RetentionWatch {
  #timer: NodeJS.Timeout | undefined;
  #mismatched = false;
  #announced = false;

  constructor(private readonly options: RetentionWatchOptions) {}

  start(): void {
    if (this.#timer) return;
    void this.#run();
    this.#timer = setInterval(() => void this.#run(), this.options.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #run(): Promise<void> {
    const { agreement, onCheck, onMismatch, onError } = this.options;
    try {
      // Until the announcement succeeds (Redis may be down at start), each round retries it.
      const check = this.#announced ? await agreement.check() : await agreement.announce();
      this.#announced = true;
      onCheck?.(check);
      if (!check.agrees && !this.#mismatched) onMismatch(check);
      this.#mismatched = !check.agrees;
    } catch (err) {
      onError(err);
    }
  }
}
