import type { Backplane, RetentionPolicy } from '@hydra/backplane';
import { isScope, SCOPES, type Scope } from '@hydra/protocol';
import { type GatewayProcess, type ReceivedMessage, StreamClient, withKey } from '@hydra/test-support';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { AcknowledgedViews } from './acknowledged-views.js';
import { pollUntil } from './fault-helpers.js';
import { IngestLoad } from './ingest-load.js';

/** Every bound on a recovery step: a failover takes 2–4 s here; the rest is room for a loaded 2-core machine. */
const RECOVERY_BOUND_MS = 25_000;
/** Acknowledged events before the fault: the load is in its stride (and its rate measured). */
const WARM_UP_EVENTS = 1500;
/**
 * Batches answered after the cut of the replication and before the kill:
 * the replicas lack them (the first may have gone out before the cut).
 */
const BATCHES_AFTER_CUT = 3;
/** Batches acknowledged after the writes came back: the new primary under the same load. */
const BATCHES_AFTER_RECOVERY = 10;

export interface FailoverUnderLoadOptions {
  gateways: readonly GatewayProcess[];
  /** An API key granting every scope. */
  apiKey: string;
  /** A publisher's `POST /v1/events` URL (its HYDRA_INGEST_MIN_REPLICAS is what the test is about). */
  ingestUrl: string;
  /** Reads the surviving sequence at the end; its retention must keep every event the test publishes. */
  backplane: Backplane;
  retention: RetentionPolicy;
  /** Distinct local addresses per client (the per-IP limit), e.g. `127.0.77.`. */
  clientAddressPrefix: string;
  /**
   * Cuts the victim's replication before the kill (its replicas lag);
   * resolves with what lets them sync again once the victim is dead
   * (cutReplication).
   */
  lagReplicas?: () => Promise<() => Promise<void>>;
  /** SIGKILLs the victim; resolves with the ms until its replacement serves (promotion, slots served again). */
  kill(): Promise<number>;
}

export interface FailoverReport {
  /** Acknowledged events per second before the fault. */
  rate: number;
  failoverMs: number;
  /** SIGKILL → the first batch sent after it answered 200. */
  writesBackMs: number;
  /** SIGKILL → every client holds that batch (as events, or in a snapshot after a resync). */
  deliveriesBackMs: number;
  counts: IngestLoad['counts'];
  /** Acknowledged events the surviving sequence lacks, per scope. */
  lostAcknowledged: Map<Scope, number>;
  /** Lost events the clients had been given (summed over clients). */
  lostSeen: number;
  /** `scope:reason` of every resync, summed over clients. */
  resyncs: Map<string, number>;
  /** Per client: `scope:reason` of its resyncs. */
  clientResyncs: Map<string, number>[];
  /**
   * The resyncs that took back nothing of a sequence that did not survive
   * (SeenResync.tookBack 0), one line each: no restart of the sequence the
   * client followed stood behind them.
   */
  resyncsTakingBackNothing: string[];
  /** The most resyncs taking something back that one client got in one scope: the restarts of the sequence seen. */
  restartsSeen: number;
  clients: number;
  problems: string[];
}

/**
 * A failover under load, end to end: two clients on each gateway, every
 * scope; a publisher streaming ≥ 1,000 events/s (IngestLoad) while the
 * victim is SIGKILLed (its replication cut first, with `lagReplicas`). Then
 * every client's view is judged against the acknowledged log and the sequence
 * that survived (AcknowledgedViews), and the recovery is timed.
 */
export async function failoverUnderLoad(o: FailoverUnderLoadOptions): Promise<FailoverReport> {
  const clients = o.gateways.flatMap((gw, g) =>
    [1, 2].map(
      (i) => new StreamClient(withKey(gw.url, o.apiKey), { localAddress: `${o.clientAddressPrefix}${2 * g + i}` }),
    ),
  );
  const load = new IngestLoad(o.ingestUrl, { maxMs: 60_000 });
  try {
    for (const c of clients) await c.waitFor((m) => m.type === 'snapshot', SCOPES.length, RECOVERY_BOUND_MS);
    const before = new Map<Scope, number>();
    for (const scope of SCOPES) before.set(scope, (await o.backplane.history.readAfter(scope, 0, 1)).lastSeq);
    load.start();
    await load.until(() => load.counts.acknowledged >= WARM_UP_EVENTS, RECOVERY_BOUND_MS, 'the load in its stride');
    const rate = Math.round(load.acknowledgedRate());

    const letReplicasSync = await o.lagReplicas?.();
    const batchesAtCut = load.answeredBatches;
    if (letReplicasSync) {
      // Stored by the primary alone: acknowledged with HYDRA_INGEST_MIN_REPLICAS=0, refused (503) with 1.
      await load.until(
        () => load.answeredBatches >= batchesAtCut + BATCHES_AFTER_CUT,
        RECOVERY_BOUND_MS,
        'batches stored by the primary alone',
      );
    }
    const progress = clients.map((c) => new ViewProgress(c.messages));
    for (const p of progress) p.markFault();
    const killedAt = performance.now();
    // Recovery is timed while the topology still settles: writes come back with the promotion, which
    // Sentinel announces (+switch-master) only once the other replicas follow the new primary.
    const killed = o.kill();
    // The lagging replicas follow the promoted one (WAIT 1 needs one of them there).
    const replicasFollow = letReplicasSync?.();
    // Both awaited below; a rejection meanwhile is not unhandled.
    killed.catch(() => undefined);
    replicasFollow?.catch(() => undefined);
    const back = await load.until(
      () => load.firstAcknowledgedSentAfter(killedAt),
      RECOVERY_BOUND_MS,
      'ingest 200 after the kill',
    );
    const writesBackMs = Math.round(back.answeredAt - killedAt);
    await replicasFollow;
    await pollUntil(
      () => progress.every((p) => p.holds(back)),
      RECOVERY_BOUND_MS,
      'every client holding the first batch acknowledged after the kill',
      20,
    );
    const deliveriesBackMs = Math.round(performance.now() - killedAt);
    const failoverMs = await killed;
    const batchesBack = load.acknowledgedBatches.length;
    await load.until(
      () => load.acknowledgedBatches.length >= batchesBack + BATCHES_AFTER_RECOVERY,
      RECOVERY_BOUND_MS,
      'the load after the recovery',
    );
    await load.stop();

    const views = await AcknowledgedViews.read(o.backplane.history, o.retention, load.sent);
    const ends = SCOPES.map((scope) => [scope, views.last(scope)] as const);
    await pollUntil(
      () => progress.every((p) => ends.every(([scope, last]) => p.at(scope) === last)),
      RECOVERY_BOUND_MS,
      'every client at the end of every scope',
      20,
    ).catch(() => undefined); // a client that never gets there is reported by checkView, with the reason
    const problems = views.foreignStored(before);
    const count = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
    const resyncs = new Map<string, number>();
    const clientResyncs: Map<string, number>[] = [];
    const resyncsTakingBackNothing: string[] = [];
    let restartsSeen = 0;
    let lostSeen = 0;
    clients.forEach((c, i) => {
      const label = `client ${i + 1}`;
      const found = views.checkView(label, c.messages);
      problems.push(...found.problems);
      lostSeen += found.lostSeen;
      const own = new Map<string, number>();
      const takingBack = new Map<string, number>();
      found.resyncs.forEach(({ scope, reason, tookBack }, n) => {
        count(resyncs, `${scope}:${reason}`);
        count(own, `${scope}:${reason}`);
        if (tookBack > 0) {
          const seen = (takingBack.get(scope) ?? 0) + 1;
          takingBack.set(scope, seen);
          restartsSeen = Math.max(restartsSeen, seen);
        } else resyncsTakingBackNothing.push(`${label}: resync ${reason} of ${scope} (its resync #${n + 1})`);
      });
      clientResyncs.push(own);
      if (c.closeCode !== null) problems.push(`${label}: closed with ${c.closeCode}`);
    });
    return {
      rate,
      failoverMs,
      writesBackMs,
      deliveriesBackMs,
      counts: { ...load.counts },
      lostAcknowledged: views.lostAcknowledged(),
      lostSeen,
      resyncs,
      clientResyncs,
      resyncsTakingBackNothing,
      restartsSeen,
      clients: clients.length,
      problems,
    };
  } finally {
    await load.stop();
    for (const c of clients) c.terminate();
  }
}

/** The report as one line. */
export function describeFailover(label: string, r: FailoverReport): string {
  const list = (m: Map<string, number>) => (m.size === 0 ? 'none' : [...m].map(([k, v]) => `${k}×${v}`).join(' '));
  return (
    `${label}: load ${r.rate} events/s; replacement serving ${r.failoverMs} ms after SIGKILL, writes back ${r.writesBackMs} ms, ` +
    `deliveries back ${r.deliveriesBackMs} ms; events acknowledged ${r.counts.acknowledged}, refused with 503 ${r.counts.refused503}, ` +
    `unanswered ${r.counts.failed}; acknowledged then lost: ${list(r.lostAcknowledged)}; lost events seen by clients ${r.lostSeen}; ` +
    `resyncs (${r.clients} clients): ${list(r.resyncs)}; restarts of the sequence seen: ${r.restartsSeen}` +
    (r.resyncsTakingBackNothing.length > 0 ? `; resyncs taking back nothing: ${r.resyncsTakingBackNothing.length}` : '')
  );
}

/**
 * What each setting guarantees, asserted on a report. Always: no problem in
 * any client's view (AcknowledgedViews.checkView) and a load of ≥ 1,000
 * events/s. Replicas in step: nothing acknowledged lost and no resync, so
 * every view is the acknowledged log exactly, unless the topology itself
 * restarted the sequence with events clients had seen but nobody had
 * acknowledged (a second failover: then as below, on whichever of
 * `affected` lost events). Replicas cut off (`lagging`):
 * the clients had been given events the surviving sequence lacks, and each
 * was told `resync` `stream_reset` on each of the victim's scopes
 * (`affected`) and on no other, once per restart of the sequence it
 * followed: every resync took back events or state of a sequence that did
 * not survive (SeenResync.tookBack), and every such loss was followed by a
 * resync (checkView); with HYDRA_INGEST_MIN_REPLICAS ≥ 1 none of those events
 * had been acknowledged (ingest answered 503 instead), with 0 they had, on
 * each of those scopes.
 */
export function expectFailoverOutcome(
  report: FailoverReport,
  { minReplicas, lagging, affected }: { minReplicas: number; lagging: boolean; affected: readonly Scope[] },
): void {
  expect(report.problems).toEqual([]);
  expect(report.rate).toBeGreaterThanOrEqual(1000);
  const lostScopes = [...report.lostAcknowledged.keys()].sort();
  if (!lagging && report.lostSeen === 0) {
    expect(lostScopes).toEqual([]);
    expect(report.resyncs).toEqual(new Map());
    return;
  }
  // Replicas in step, yet clients were given events the surviving sequence lacks: the topology restarted the
  // sequence by itself. Seen once in CI on Sentinel (stop 24, 9,552 events refused with 503, 244 such events
  // seen): the replica it had just promoted was judged down and the other one promoted, which lacked what the
  // first replacement had stored meanwhile. Gateways deliver an event when the primary PUBLISHes it, before any
  // replica holds it, so those events reached clients; none had been acknowledged (WAIT failed: 503). Such a
  // loss is judged as in the lagging cases below, except that not every affected scope need have lost events.
  if (!lagging) expect(minReplicas).toBeGreaterThan(0);
  expect(report.lostSeen).toBeGreaterThan(0);
  // One restart resyncs each client once: a second resync for the same restart (the live subscription and a
  // re-prime both acting on it, say) takes back nothing, for the client then holds only the surviving sequence.
  // More than one resync per scope is right only when the topology restarted the sequence again by itself, and
  // then the client had been given events of that sequence too: on a loaded machine Sentinel (its
  // down-after-milliseconds is 1 s here) judged the promoted replica down a second after promoting it, and
  // promoted the other replica, which lacked what the first replacement had stored since (refused with 503
  // under WAIT 1, yet delivered). So the evidence is what each resync took back, not how many there were.
  expect(report.resyncsTakingBackNothing).toEqual([]);
  const resyncedOn = affected.map((s) => `${s}:stream_reset`).sort();
  const resyncedBy = report.clientResyncs.map((own) => [...own.keys()].sort());
  if (lagging) {
    // Every client on every affected scope (at least once), and on no other scope, with no other reason.
    expect(resyncedBy).toEqual(report.clientResyncs.map(() => resyncedOn));
  } else {
    // On affected scopes only, with no other reason.
    expect(resyncedBy.flat().filter((k) => !resyncedOn.includes(k))).toEqual([]);
  }
  if (minReplicas > 0) {
    expect(lostScopes).toEqual([]);
    expect(report.counts.refused503).toBeGreaterThan(0);
  } else expect(lostScopes).toEqual([...affected].sort());
}

/**
 * Runs `check` (the outcome's assertions); when it fails, the error also
 * carries what each gateway logged about its subscription and sequences
 * (warnings, errors, re-primes, gap fills), so a failure seen once in CI can
 * be read without running it again.
 */
export function withGatewayLogsOnFailure(gateways: readonly GatewayProcess[], check: () => void): void {
  try {
    check();
  } catch (error) {
    const telling = (l: Record<string, unknown>) =>
      Number(l.level) >= 40 || l.msg === 're-priming scopes' || l.msg === 'subscription gap filled from history';
    const logs = gateways.map((gw, g) => {
      const lines = gw.logs.filter(telling).map((l) => {
        const { time, scope, expected, got, reason, why, from, to, msg } = l;
        return `  ${JSON.stringify({ time, scope, expected, got, reason, why, from, to, msg })}`;
      });
      return `gateway ${g + 1} (clients ${2 * g + 1} and ${2 * g + 2}):\n${lines.slice(-60).join('\n')}`;
    });
    if (error instanceof Error) error.message += `\n${logs.join('\n')}`;
    throw error;
  }
}

/**
 * Replicas that fall behind: each is given a wrong `masterauth` (its next
 * connection to the primary fails at AUTH), then the primary cuts every
 * replica link. What the primary stores from then on exists nowhere else.
 * The returned function waits until `primary`'s connection closes (the
 * process was killed), then clears `masterauth`: the replicas sync with
 * whoever is primary by then at their next attempt, within a second.
 */
export async function cutReplication(primary: Redis, replicas: readonly Redis[]): Promise<() => Promise<void>> {
  for (const replica of replicas) await replica.config('SET', 'masterauth', 'hydra-test-wrong-password');
  const gone = new Promise<void>((resolve) => primary.once('close', () => resolve()));
  await primary.call('CLIENT', 'KILL', 'TYPE', 'replica');
  return async () => {
    await gone;
    for (const replica of replicas) await replica.config('SET', 'masterauth', '');
  };
}

/** The ports of a primary's (or master's) replicas, from its INFO replication. */
export async function replicaPortsOf(primary: Redis): Promise<number[]> {
  const info = await primary.info('replication');
  return [...info.matchAll(/^slave\d+:.*?port=(\d+)/gm)].map((m) => Number(m[1]));
}

/**
 * One client's messages, scanned once each as they arrive: where the view
 * stands per scope, the newest event of each scope by `data.n` (the load's
 * counter), and the snapshots received after the fault.
 */
class ViewProgress {
  readonly #messages: readonly ReceivedMessage[];
  #scanned = 0;
  #faultIndex = Number.POSITIVE_INFINITY;
  readonly #at = new Map<Scope, number | undefined>();
  readonly #newestN = new Map<Scope, number>();
  readonly #snapshotSinceFault = new Map<Scope, number>();

  constructor(messages: readonly ReceivedMessage[]) {
    this.#messages = messages;
  }

  markFault(): void {
    this.#faultIndex = this.#messages.length;
  }

  /** The seq the view stands at in `scope` (undefined between a resync and its snapshot). */
  at(scope: Scope): number | undefined {
    this.#scan();
    return this.#at.get(scope);
  }

  /** Whether every event of `batch` reached this client, live or in a snapshot read after the fault. */
  holds(batch: { firstN: number; seqs: ReadonlyMap<Scope, number> }): boolean {
    this.#scan();
    return [...batch.seqs].every(
      ([scope, seq]) =>
        (this.#newestN.get(scope) ?? -1) >= batch.firstN || (this.#snapshotSinceFault.get(scope) ?? 0) >= seq,
    );
  }

  #scan(): void {
    for (; this.#scanned < this.#messages.length; this.#scanned++) {
      const m = this.#messages[this.#scanned] as ReceivedMessage;
      if (m.type === 'snapshot' || m.type === 'resync') {
        const { scope, seq, complete } = m.data as { scope: Scope; seq: number; complete?: boolean };
        if (m.type === 'resync') this.#at.set(scope, undefined);
        else if (complete) {
          this.#at.set(scope, seq);
          if (this.#scanned >= this.#faultIndex) this.#snapshotSinceFault.set(scope, seq);
        }
      } else if (isScope(m.type) && typeof m.seq === 'number') {
        this.#at.set(m.type, m.seq);
        const n = (m.data as { n?: number }).n ?? -1;
        if (n > (this.#newestN.get(m.type) ?? -1)) this.#newestN.set(m.type, n);
      }
    }
  }
}
