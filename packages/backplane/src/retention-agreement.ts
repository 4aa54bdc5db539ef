import { randomUUID } from 'node:crypto';
import { defineLuaCommand, type LuaCommandDefinition } from './lua-scripts.js';
import type { RedisClient } from './redis-connections.js';
import { redisKeys } from './redis-keys.js';
import { formatRetention, type RetentionPolicy } from './retention.js';

/**
 * Every process on one backplane must run with the same HYDRA_RETENTION:
 * gateways sweep entity expiry and read snapshots and history with it,
 * publishers write with it. A process whose policy differs (a half-done
 * rollout, a forgotten variable) would silently expire entities early or
 * resync clients that could have resumed. This detects it.
 *
 * Each process keeps an entry with its policy on the backplane, refreshed by
 * every check and living `ttlMs` past it, and compares with the entries of
 * the other live processes. Guarantees: while two live processes disagree,
 * both see the mismatch at their next check; once the odd one is gone (it
 * withdrew on a clean stop, or its entry expired within `ttlMs` of its last
 * check), nobody reports a mismatch any more (a rolled-back canary does not
 * leave a standing alarm). Policies are not secrets and may be logged.
 */
export interface RetentionCheck {
  readonly agrees: boolean;
  /** This process's policy, formatted (formatRetention). */
  readonly ours: string;
  /** The distinct policies of other live processes that differ from ours (empty when all agree). */
  readonly theirs: readonly string[];
}

export interface RetentionAgreement {
  /** Records this process's policy for `ttlMs` and compares it with the other live processes'. */
  check(ttlMs: number): Promise<RetentionCheck>;
  /** Removes this process's entry (a clean stop): others stop comparing with it at once. */
  withdraw(): Promise<void>;
}

const compare = (ours: string, theirs: readonly string[]): RetentionCheck => ({
  agrees: theirs.length === 0,
  ours,
  theirs,
});

/** `lua/retention-check.lua`: 1 key (redisKeys.retentionProcesses). */
const RETENTION_CHECK_SCRIPT: LuaCommandDefinition = Object.freeze({
  command: 'hydraRetentionCheck',
  file: 'retention-check',
  numberOfKeys: 1,
});

interface RetentionCheckCommand {
  hydraRetentionCheck(key: string, processId: string, policy: string, ttlMs: number): Promise<string[]>;
}

/** On Redis: one HASH of live processes (redisKeys.retentionProcesses), one script run per check. */
export function redisRetentionAgreement(redis: RedisClient, policy: RetentionPolicy): RetentionAgreement {
  defineLuaCommand(redis, RETENTION_CHECK_SCRIPT);
  const scripts = redis as RedisClient & RetentionCheckCommand;
  const ours = formatRetention(policy);
  const key = redisKeys.retentionProcesses();
  const processId = randomUUID();
  return {
    // The entry is written anew by every check, so a Redis restarted empty has it back at the next one.
    check: async (ttlMs) => compare(ours, await scripts.hydraRetentionCheck(key, processId, ours, ttlMs)),
    withdraw: async () => {
      await redis.hdel(key, processId);
    },
  };
}

/** In memory there is one process, so it always agrees with itself. */
export function soleProcessRetentionAgreement(policy: RetentionPolicy): RetentionAgreement {
  const ours = formatRetention(policy);
  return { check: async () => compare(ours, []), withdraw: async () => undefined };
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

/** Checks at start() and every interval until stop(); reports mismatches once per episode. */
export class RetentionWatch {
  #timer: NodeJS.Timeout | undefined;
  #mismatched = false;
  /** The check in flight, if any: stop() waits for it, so it cannot write the entry back after the withdrawal. */
  #running: Promise<void> | undefined;

  constructor(private readonly options: RetentionWatchOptions) {}

  start(): void {
    if (this.#timer) return;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.options.intervalMs);
    this.#timer.unref();
  }

  /** Stops checking and withdraws this process's entry (best effort: an entry left behind expires). */
  async stop(): Promise<void> {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.options.agreement.withdraw().catch((err: unknown) => this.options.onError(err));
  }

  #tick(): void {
    if (this.#running) return; // a check slower than the interval (RedisClient away): the next tick retries
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
    });
  }

  async #run(): Promise<void> {
    const { agreement, intervalMs, onCheck, onMismatch, onError } = this.options;
    try {
      // Three intervals: one missed check (a Redis blip) does not make a live process look gone.
      const check = await agreement.check(3 * intervalMs);
      onCheck?.(check);
      if (!check.agrees && !this.#mismatched) onMismatch(check);
      this.#mismatched = !check.agrees;
    } catch (err) {
      onError(err);
    }
  }
}
