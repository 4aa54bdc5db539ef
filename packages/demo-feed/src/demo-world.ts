import type { IngestEvent, Scope } from '@hydra/protocol';
import { type Aircraft, advanceAircraft, spawnAircraft } from './aircraft.js';
import { AlertIssuer } from './alerts.js';
import { CyberIssuer } from './cyber.js';
import { Prng } from './prng.js';
import { Schedule } from './schedule.js';
import { makeSignal } from './signals.js';
import { advanceVessel, spawnVessel, type Vessel } from './vessels.js';

/** How often things happen in the demo world. */
export interface DemoRates {
  /** Mean interval between two reports of one aircraft (each interval drawn from ⅔–4⁄3 of it). */
  aircraftUpdateMs: number;
  /** Mean interval between two reports of one vessel (each interval drawn from 0.8–1.2 of it). */
  vesselUpdateMs: number;
  /** Mean `signals` events per second (a Poisson process). */
  signalsPerSec: number;
  /** Mean `alerts` events per second (a Poisson process). */
  alertsPerSec: number;
  /** Mean `cyber` events per second (a Poisson process). */
  cyberPerSec: number;
  /** Mean time an aircraft stays in coverage before it stops reporting (unless it lands first). */
  aircraftMeanVisibleMs: number;
  /** Mean time a vessel reports before it goes silent. */
  vesselMeanVisibleMs: number;
}

export const DEFAULT_DEMO_RATES: Readonly<DemoRates> = Object.freeze({
  aircraftUpdateMs: 1_500,
  vesselUpdateMs: 10_000,
  signalsPerSec: 3,
  alertsPerSec: 0.1,
  cyberPerSec: 0.2,
  aircraftMeanVisibleMs: 20 * 60_000,
  vesselMeanVisibleMs: 60 * 60_000,
});

export const DEFAULT_DEMO_AIRCRAFT = 300;
export const DEFAULT_DEMO_VESSELS = 200;

/** The world's clock when no `startTs` is given: 2025-01-01T12:00:00Z, so a bare seed replays exactly. */
export const DEMO_EPOCH_MS = Date.UTC(2025, 0, 1, 12, 0, 0);

export interface DemoWorldOptions {
  seed: number | string;
  /** Aircraft in the air at any time (departures are replaced). Default 300. */
  aircraft?: number;
  /** Vessels reporting at any time (silent ones are replaced). Default 200. */
  vessels?: number;
  rates?: Partial<DemoRates>;
  /** The world's clock at creation, epoch ms (default DEMO_EPOCH_MS). */
  startTs?: number;
}

type LogScope = 'signals' | 'alerts' | 'cyber';

type Happening =
  | { kind: 'aircraft'; aircraft: Aircraft }
  | { kind: 'vessel'; vessel: Vessel }
  | { kind: 'spawn-aircraft' }
  | { kind: 'spawn-vessel' }
  | { kind: 'log'; scope: LogScope };

/** The first event of each log scope comes within this long, so a fresh stream shows every scope at once. */
const FIRST_LOG_EVENT_WITHIN_MS = 2_000;
/** A departed aircraft or vessel is replaced after a delay up to this long. */
const MAX_REPLACEMENT_DELAY_MS = 20_000;

/**
 * The simulated world behind the demo feed: flights along great circles,
 * vessels on shipping lanes, and streams of RF/OSINT signals, CAP alerts and
 * STIX cyber objects.
 *
 * Pure and deterministic: no timers, no wall clock, no Math.random. The same
 * options give the same events, and the events depend only on the total time
 * advanced, not on how it is split into ticks (`tick(2000)` returns what
 * `tick(1000)` twice returns). Every event passes validateIngestItem.
 */
export class DemoWorld {
  readonly rates: Readonly<DemoRates>;
  readonly targetAircraft: number;
  readonly targetVessels: number;
  readonly #rng: Prng;
  readonly #schedule = new Schedule<Happening>();
  readonly #aircraft = new Map<string, Aircraft>();
  readonly #vessels = new Map<string, Vessel>();
  readonly #alerts = new AlertIssuer();
  readonly #cyber: CyberIssuer;
  #now: number;

  constructor(options: DemoWorldOptions) {
    this.rates = Object.freeze(resolveRates(options.rates));
    this.targetAircraft = count('aircraft', options.aircraft ?? DEFAULT_DEMO_AIRCRAFT);
    this.targetVessels = count('vessels', options.vessels ?? DEFAULT_DEMO_VESSELS);
    const startTs = options.startTs ?? DEMO_EPOCH_MS;
    if (!Number.isFinite(startTs) || startTs < 0)
      throw new RangeError(`demo: startTs must be epoch ms, got ${startTs}`);
    this.#now = startTs;
    this.#rng = new Prng(options.seed);
    this.#cyber = new CyberIssuer(this.#rng);
    const rng = this.#rng;

    for (let i = 0; i < this.targetAircraft; i++) {
      const a = spawnAircraft(rng, this.#aircraft, 'cruise', startTs, this.rates.aircraftMeanVisibleMs);
      this.#aircraft.set(a.icao24, a);
      this.#schedule.push(startTs + rng.range(0, this.rates.aircraftUpdateMs), { kind: 'aircraft', aircraft: a });
    }
    for (let i = 0; i < this.targetVessels; i++) {
      const v = spawnVessel(rng, this.#vessels, startTs, this.rates.vesselMeanVisibleMs);
      this.#vessels.set(v.mmsi, v);
      this.#schedule.push(startTs + rng.range(0, this.rates.vesselUpdateMs), { kind: 'vessel', vessel: v });
    }
    for (const scope of ['signals', 'alerts', 'cyber'] as const) {
      if (this.#ratePerSec(scope) > 0) {
        this.#schedule.push(startTs + rng.range(200, FIRST_LOG_EVENT_WITHIN_MS), { kind: 'log', scope });
      }
    }
  }

  /** The world's clock, epoch ms. */
  get now(): number {
    return this.#now;
  }

  /** Aircraft currently reporting. */
  get activeAircraft(): number {
    return this.#aircraft.size;
  }

  /** Vessels currently reporting. */
  get activeVessels(): number {
    return this.#vessels.size;
  }

  /** Advances the clock by `dtMs` and returns the events that happened, in time order. */
  tick(dtMs: number): IngestEvent[] {
    const events: IngestEvent[] = [];
    this.#advance(dtMs, events);
    return events;
  }

  /** Advances the clock by `dtMs` like tick, discarding the events (catching up after a stall). */
  skip(dtMs: number): void {
    this.#advance(dtMs, undefined);
  }

  #advance(dtMs: number, out: IngestEvent[] | undefined): void {
    if (!Number.isFinite(dtMs) || dtMs < 0) throw new RangeError(`demo: tick needs a duration >= 0 ms, got ${dtMs}`);
    const end = this.#now + dtMs;
    while (this.#schedule.peekAt() <= end) {
      const { at, item } = this.#schedule.pop()!;
      this.#now = at;
      this.#happen(at, item, out);
    }
    this.#now = end;
  }

  #happen(at: number, h: Happening, out: IngestEvent[] | undefined): void {
    const rng = this.#rng;
    const rates = this.rates;
    switch (h.kind) {
      case 'aircraft': {
        const a = h.aircraft;
        if (at >= a.leaveAt) {
          this.#aircraftGone(a, at);
          return;
        }
        const { data, landed } = advanceAircraft(rng, a, at);
        out?.push({ scope: 'aircraft', data });
        if (landed) {
          this.#aircraftGone(a, at);
          return;
        }
        this.#schedule.push(at + rates.aircraftUpdateMs * rng.range(2 / 3, 4 / 3), h);
        return;
      }
      case 'vessel': {
        const v = h.vessel;
        if (at >= v.leaveAt) {
          this.#vessels.delete(v.mmsi);
          this.#schedule.push(at + rng.range(1_000, MAX_REPLACEMENT_DELAY_MS), { kind: 'spawn-vessel' });
          return;
        }
        // Always advance (and draw), also when skipping: `out?.push(f())` would skip the call.
        const data = advanceVessel(rng, v, at);
        out?.push({ scope: 'vessels', data });
        this.#schedule.push(at + rates.vesselUpdateMs * rng.range(0.8, 1.2), h);
        return;
      }
      case 'spawn-aircraft': {
        const entry = rng.chance(0.5) ? 'takeoff' : 'coverage';
        const a = spawnAircraft(rng, this.#aircraft, entry, at, rates.aircraftMeanVisibleMs);
        this.#aircraft.set(a.icao24, a);
        this.#happen(at, { kind: 'aircraft', aircraft: a }, out);
        return;
      }
      case 'spawn-vessel': {
        const v = spawnVessel(rng, this.#vessels, at, rates.vesselMeanVisibleMs);
        this.#vessels.set(v.mmsi, v);
        this.#happen(at, { kind: 'vessel', vessel: v }, out);
        return;
      }
      case 'log': {
        const scope: Scope = h.scope;
        const data =
          h.scope === 'signals'
            ? makeSignal(rng, at)
            : h.scope === 'alerts'
              ? this.#alerts.next(rng, at)
              : this.#cyber.next(rng, at);
        out?.push({ scope, data });
        this.#schedule.push(at + rng.exponential(1000 / this.#ratePerSec(h.scope)), h);
        return;
      }
    }
  }

  #aircraftGone(a: Aircraft, at: number): void {
    this.#aircraft.delete(a.icao24);
    this.#schedule.push(at + this.#rng.range(1_000, MAX_REPLACEMENT_DELAY_MS), { kind: 'spawn-aircraft' });
  }

  #ratePerSec(scope: LogScope): number {
    return scope === 'signals'
      ? this.rates.signalsPerSec
      : scope === 'alerts'
        ? this.rates.alertsPerSec
        : this.rates.cyberPerSec;
  }
}

export function createDemoWorld(options: DemoWorldOptions): DemoWorld {
  return new DemoWorld(options);
}

/** Merges `rates` over the defaults; throws a RangeError naming the first bad field. */
export function resolveRates(rates: Partial<DemoRates> = {}): DemoRates {
  const out: DemoRates = { ...DEFAULT_DEMO_RATES };
  for (const [name, value] of Object.entries(rates) as [keyof DemoRates, unknown][]) {
    if (!(name in DEFAULT_DEMO_RATES)) throw new RangeError(`demo: unknown rate "${name}"`);
    if (value === undefined) continue;
    const perSec = name.endsWith('PerSec');
    // Per-second rates may be 0 (scope off); intervals must be positive, at least 10 ms.
    if (typeof value !== 'number' || !Number.isFinite(value) || (perSec ? value < 0 || value > 10_000 : value < 10)) {
      throw new RangeError(
        `demo: rates.${name} must be ${perSec ? 'a number of events per second in [0, 10000]' : 'a number of ms >= 10'}, got ${String(value)}`,
      );
    }
    out[name] = value;
  }
  return out;
}

function count(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 10_000) {
    throw new RangeError(`demo: ${name} must be an integer in [0, 10000], got ${value}`);
  }
  return value;
}
