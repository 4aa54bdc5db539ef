import { type EventData, type IngestEvent, validateIngestItem } from '@hydra/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { cvss31, DEFAULT_DEMO_RATES, DEMO_EPOCH_MS, DemoWorld, resolveRates } from '../src/index.js';

/** Events with the world time they were generated in (end of their 1 s tick). */
interface Timed {
  tickEnd: number;
  event: IngestEvent;
}

function run(world: DemoWorld, seconds: number, stepMs = 1000): Timed[] {
  const out: Timed[] = [];
  for (let i = 0; i < (seconds * 1000) / stepMs; i++) {
    for (const event of world.tick(stepMs)) out.push({ tickEnd: world.now, event });
  }
  return out;
}

const byScope = (events: readonly Timed[], scope: string) =>
  events.filter((e) => e.event.scope === scope).map((e) => e.event.data);

const UUID4 = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const EMERGENCIES = ['none', 'general', 'lifeguard', 'minfuel', 'nordo', 'unlawful', 'downed'];
const CAP_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/;
const STIX_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Collects rule violations over many events (one `expect` per event would
 * take seconds); the test then expects the list to be empty.
 */
class Violations {
  readonly found: string[] = [];
  check(ok: boolean, rule: string, item: unknown): void {
    if (!ok && this.found.length < 10) this.found.push(`${rule}: ${JSON.stringify(item).slice(0, 300)}`);
  }
}

function inRange(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
}

describe('DemoWorld determinism', () => {
  it('gives identical events for the same seed', () => {
    const a = run(new DemoWorld({ seed: 42 }), 30);
    const b = run(new DemoWorld({ seed: 42 }), 30);
    expect(a.length).toBeGreaterThan(5_000);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('accepts string seeds and gives different events for a different seed', () => {
    const a = run(new DemoWorld({ seed: 42 }), 5);
    const b = run(new DemoWorld({ seed: 43 }), 5);
    const c = run(new DemoWorld({ seed: 'demo' }), 5);
    expect(JSON.stringify(b)).not.toBe(JSON.stringify(a));
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
    expect(JSON.stringify(run(new DemoWorld({ seed: 'demo' }), 5))).toBe(JSON.stringify(c));
  });

  it('does not depend on how time is split into ticks', () => {
    const coarse = new DemoWorld({ seed: 7 }).tick(20_000);
    const fine = new DemoWorld({ seed: 7 });
    const pieces: IngestEvent[] = [];
    for (let i = 0; i < 200; i++) pieces.push(...fine.tick(100));
    expect(JSON.stringify(pieces)).toBe(JSON.stringify(coarse));
  });

  it('skip() advances like tick() without returning the events', () => {
    const a = new DemoWorld({ seed: 9, startTs: 1_700_000_000_000 });
    const b = new DemoWorld({ seed: 9, startTs: 1_700_000_000_000 });
    a.skip(15_000);
    b.tick(15_000);
    expect(a.now).toBe(b.now);
    expect(a.tick(2_000)).toEqual(b.tick(2_000));
  });

  it('starts its clock at startTs (default DEMO_EPOCH_MS) and stamps aircraft with world time', () => {
    const world = new DemoWorld({ seed: 1, startTs: 1_750_000_000_000 });
    const events = world.tick(3_000);
    const ts = events.filter((e) => e.scope === 'aircraft').map((e) => e.data['lastSeenTs'] as number);
    expect(Math.min(...ts)).toBeGreaterThanOrEqual(1_750_000_000_000);
    expect(Math.max(...ts)).toBeLessThanOrEqual(1_750_000_003_000);
    expect(new DemoWorld({ seed: 1 }).now).toBe(DEMO_EPOCH_MS);
  });

  it('shows every scope within the first 2.5 s', () => {
    const scopes = new Set(new DemoWorld({ seed: 3 }).tick(2_500).map((e) => e.scope));
    expect([...scopes].sort()).toEqual(['aircraft', 'alerts', 'cyber', 'signals', 'vessels']);
  });
});

describe('DemoWorld events over ten simulated minutes', () => {
  let events: Timed[];
  let world: DemoWorld;

  beforeAll(() => {
    world = new DemoWorld({ seed: 2025 });
    events = run(world, 600);
  });

  it('every event passes validateIngestItem unchanged (already in canonical form)', () => {
    const problems: string[] = [];
    for (const { event } of events) {
      const result = validateIngestItem(event);
      if (!result.ok) problems.push(result.reason);
      else if (result.event.data !== event.data) problems.push(`normalised: ${JSON.stringify(event.data)}`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
  });

  it('aircraft follow the OpenSky/readsb conventions', () => {
    const aircraft = byScope(events, 'aircraft');
    expect(aircraft.length).toBeGreaterThan(100_000);
    const v = new Violations();
    for (const a of aircraft) {
      v.check(/^[0-9a-f]{6}$/.test(a['icao24'] as string) && a['id'] === a['icao24'], 'icao24 and id', a);
      v.check(/^[A-Z]{3}[1-9][0-9]{0,3}[A-Z]{0,2}$/.test(a['callsign'] as string), 'callsign', a);
      v.check((a['callsign'] as string).length <= 8, 'callsign length', a);
      v.check(/^[0-7]{4}$/.test(a['squawk'] as string), 'squawk', a);
      v.check(/^A[1-5]$/.test(a['category'] as string), 'category', a);
      v.check(['adsb', 'mlat'].includes(a['positionSource'] as string), 'positionSource', a);
      v.check(EMERGENCIES.includes(a['emergency'] as string), 'emergency', a);
      v.check(inRange(a['lat'], -90, 90) && inRange(a['lon'], -180, 180), 'lat/lon', a);
      v.check(inRange(a['groundSpeedKt'], 0, 700), 'groundSpeedKt', a);
      v.check(inRange(a['trackDeg'], 0, 359.9), 'trackDeg', a);
      v.check(inRange(a['lastSeenTs'], DEMO_EPOCH_MS, DEMO_EPOCH_MS + 600_000), 'lastSeenTs', a);
      if (a['onGround'] === true) {
        v.check(a['altBaroFt'] === undefined, 'no altitude on the ground', a);
      } else {
        v.check(inRange(a['altBaroFt'], 0, 45_000) && (a['altBaroFt'] as number) % 25 === 0, 'altBaroFt', a);
        v.check((a['vertRateFpm'] as number) % 64 === 0, 'vertRateFpm in steps of 64', a);
      }
      if (a['emergency'] === 'general') v.check(a['squawk'] === '7700', 'general emergency squawks 7700', a);
      if (a['emergency'] === 'nordo') v.check(a['squawk'] === '7600', 'nordo squawks 7600', a);
    }
    expect(v.found).toEqual([]);
    // Climbing, cruising and descending flights all occur.
    expect(aircraft.some((a) => (a['vertRateFpm'] as number) > 1000)).toBe(true);
    expect(aircraft.some((a) => (a['vertRateFpm'] as number) < -1000)).toBe(true);
    expect(aircraft.some((a) => (a['altBaroFt'] as number) >= 35_000)).toBe(true);
    expect(new Set(aircraft.map((a) => a['category'])).size).toBeGreaterThanOrEqual(3);
  });

  it('aircraft move along their great-circle track', () => {
    const byId = new Map<string, EventData[]>();
    for (const a of byScope(events, 'aircraft')) {
      if (a['onGround'] === true) continue;
      const list = byId.get(a['icao24'] as string) ?? [];
      list.push(a);
      byId.set(a['icao24'] as string, list);
    }
    let checked = 0;
    const v = new Violations();
    for (const reports of byId.values()) {
      for (let i = 1; i < reports.length; i++) {
        const [p, q] = [reports[i - 1]!, reports[i]!];
        const dtH = ((q['lastSeenTs'] as number) - (p['lastSeenTs'] as number)) / 3_600_000;
        const dLat = (q['lat'] as number) - (p['lat'] as number);
        const dLon = ((q['lon'] as number) - (p['lon'] as number)) * Math.cos(((p['lat'] as number) * Math.PI) / 180);
        if (Math.abs(dLon) > 10) continue; // across the antimeridian
        const nm = Math.hypot(dLat, dLon) * 60;
        // Distance covered matches ground speed (within rounding and speed changes).
        v.check(nm < (p['groundSpeedKt'] as number) * dtH * 1.3 + 0.01, 'distance matches speed', [p, q]);
        // The step goes in the direction of the reported track.
        if (nm > 0.05) {
          const course = ((Math.atan2(dLon, dLat) * 180) / Math.PI + 360) % 360;
          const diff = Math.abs(((course - (p['trackDeg'] as number) + 540) % 360) - 180);
          v.check(diff < 5, 'moves along its track', [p, q]);
          checked++;
        }
      }
    }
    expect(v.found).toEqual([]);
    expect(checked).toBeGreaterThan(10_000);
  });

  it('aircraft leave (land or fall silent), stop reporting, and new ones appear', () => {
    const firstMinute = new Set(
      events.filter((e) => e.tickEnd <= DEMO_EPOCH_MS + 60_000).map((e) => e.event.data['id']),
    );
    const lastMinute = new Set(
      events
        .filter((e) => e.event.scope === 'aircraft' && e.tickEnd > DEMO_EPOCH_MS + 540_000)
        .map((e) => e.event.data['id']),
    );
    const departed = [...firstMinute].filter((id) => !lastMinute.has(id));
    const arrived = [...lastMinute].filter((id) => !firstMinute.has(id));
    expect(departed.length).toBeGreaterThan(50);
    expect(arrived.length).toBeGreaterThan(50);
    expect(lastMinute.size).toBeGreaterThan(270);
    expect(world.activeAircraft).toBeGreaterThanOrEqual(270);
    expect(world.activeAircraft).toBeLessThanOrEqual(300);

    // A landed flight reports once on the ground, then never again.
    const aircraft = events.filter((e) => e.event.scope === 'aircraft');
    const landings = aircraft.filter((e) => e.event.data['onGround'] === true);
    expect(landings.length).toBeGreaterThan(0);
    for (const landing of landings) {
      const later = aircraft.filter(
        (e) =>
          e.event.data['id'] === landing.event.data['id'] &&
          (e.event.data['lastSeenTs'] as number) > (landing.event.data['lastSeenTs'] as number) &&
          (e.event.data['lastSeenTs'] as number) < (landing.event.data['lastSeenTs'] as number) + 120_000,
      );
      expect(later).toEqual([]);
    }
  });

  it('vessels follow the AIS conventions', () => {
    const vessels = byScope(events, 'vessels');
    expect(vessels.length).toBeGreaterThan(10_000);
    const statuses = new Set<number>();
    const bad = new Violations();
    for (const v of vessels) {
      bad.check(/^[2-7][0-9]{8}$/.test(v['mmsi'] as string) && v['id'] === v['mmsi'], 'mmsi and id', v);
      bad.check(typeof v['name'] === 'string' && /^[A-Z0-9]{4,7}$/.test(v['callSign'] as string), 'name, callSign', v);
      bad.check([0, 1, 5, 7, 8].includes(v['navStatus'] as number), 'navStatus', v);
      statuses.add(v['navStatus'] as number);
      bad.check(inRange(v['shipType'], 0, 99) && Number.isInteger(v['shipType']), 'shipType', v);
      bad.check(inRange(v['lat'], -90, 90) && inRange(v['lon'], -180, 180), 'lat/lon', v);
      bad.check(inRange(v['sogKt'], 0, 30), 'sogKt', v);
      bad.check(v['cogDeg'] === undefined || inRange(v['cogDeg'], 0, 359.9), 'cogDeg', v);
      bad.check(
        v['headingDeg'] === undefined || (Number.isInteger(v['headingDeg']) && inRange(v['headingDeg'], 0, 359)),
        'headingDeg',
        v,
      );
      bad.check((v['lengthM'] as number) > (v['beamM'] as number) && inRange(v['draughtM'], 1, 25), 'dimensions', v);
      bad.check(
        v['destination'] === undefined || /^[A-Z]{2} [A-Z]{3}$/.test(v['destination'] as string),
        'destination',
        v,
      );
      if (v['imo'] !== undefined) {
        const digits = String(v['imo']).split('').map(Number);
        const check = digits.slice(0, 6).reduce((sum, d, i) => sum + d * (7 - i), 0) % 10;
        bad.check(digits.length === 7 && check === digits[6], 'IMO check digit', v);
      }
      if (v['navStatus'] === 5) bad.check(v['sogKt'] === 0 && v['cogDeg'] === undefined, 'moored: no way, no COG', v);
      if (v['etaTs'] !== undefined) bad.check((v['etaTs'] as number) > DEMO_EPOCH_MS, 'etaTs', v);
    }
    expect(bad.found).toEqual([]);
    expect([...statuses].sort()).toEqual([0, 1, 5, 7, 8]);
  });

  it('signals carry the SigMF (rf) and GDELT (osint) fields', () => {
    const signals = byScope(events, 'signals');
    expect(signals.length).toBeGreaterThan(1_000);
    const kinds = new Set(signals.map((s) => s['kind']));
    expect([...kinds].sort()).toEqual(['osint', 'rf']);
    const v = new Violations();
    for (const s of signals) {
      v.check(inRange(s['lat'], -90, 90) && inRange(s['lon'], -180, 180), 'lat/lon', s);
      v.check(inRange(s['confidence'], 0, 100), 'confidence', s);
      v.check(inRange(s['ts'], DEMO_EPOCH_MS - 3_600_000, DEMO_EPOCH_MS + 600_000), 'ts', s);
      if (s['kind'] === 'rf') {
        v.check((s['freqHz'] as number) > 0 && (s['bandwidthHz'] as number) > 0, 'frequency', s);
        v.check(/^sdr-[a-z]{2}-[a-z]{3}-\d{2}$/.test(s['sensorId'] as string), 'sensorId', s);
        v.check(typeof s['modulation'] === 'string' && inRange(s['powerDbfs'], -130, 0), 'modulation, power', s);
        v.check((s['tsEnd'] as number) >= (s['ts'] as number), 'tsEnd >= ts', s);
      } else {
        v.check(/^https:\/\/news\.example\.com\//.test(s['url'] as string), 'url', s);
        v.check(/^[0-9]{2,4}$/.test(s['code'] as string), 'CAMEO code string', s);
        v.check(inRange(s['tone'], -10, 10), 'tone', s);
      }
    }
    expect(v.found).toEqual([]);
  });

  it('alerts are CAP 1.2 with a closed, counter-clockwise [lon, lat] polygon', () => {
    const alerts = byScope(events, 'alerts');
    expect(alerts.length).toBeGreaterThan(20);
    const ids = new Set<unknown>();
    for (const a of alerts) {
      ids.add(a['identifier']);
      expect(a['id']).toBe(a['identifier']);
      expect(a['sent']).toMatch(CAP_TIME);
      expect(a['expires']).toMatch(CAP_TIME);
      expect(Date.parse(a['expires'] as string)).toBeGreaterThan(Date.parse(a['sent'] as string));
      expect(['Actual', 'Exercise', 'Test']).toContain(a['status']);
      expect(['Alert', 'Update', 'Cancel']).toContain(a['msgType']);
      expect(['Immediate', 'Expected', 'Future', 'Past', 'Unknown']).toContain(a['urgency']);
      expect(['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown']).toContain(a['severity']);
      expect(['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown']).toContain(a['certainty']);
      expect(a['sender']).toMatch(/^[a-z-]+@alerts\.example\.(org|net)$/);
      if (a['msgType'] !== 'Alert') expect(a['references']).toMatch(/^[^,\s]+,[^,\s]+,[^,\s]+$/);
      const geometry = a['geometry'] as { type: string; coordinates: number[][][] };
      expect(geometry.type).toBe('Polygon');
      const ring = geometry.coordinates[0]!;
      expect(ring.length).toBeGreaterThanOrEqual(7);
      expect(ring[ring.length - 1]).toEqual(ring[0]);
      let twiceArea = 0;
      for (let i = 1; i < ring.length; i++) {
        const [x1, y1] = ring[i - 1]!;
        const [x2, y2] = ring[i]!;
        expect(inRange(x2, -180, 180) && inRange(y2, -90, 90)).toBe(true);
        twiceArea += x1! * y2! - x2! * y1!;
      }
      expect(twiceArea).toBeGreaterThan(0);
    }
    expect(ids.size).toBe(alerts.length);
  });

  it('cyber events carry whole STIX 2.1 objects and consistent flat fields', () => {
    const cyber = byScope(events, 'cyber');
    expect(cyber.length).toBeGreaterThan(50);
    const kinds = new Set<unknown>();
    for (const c of cyber) {
      kinds.add(c['kind']);
      const stix = c['stix'] as Record<string, unknown>;
      expect(stix['spec_version']).toBe('2.1');
      expect(stix['type']).toBe(c['kind']);
      expect(stix['id']).toMatch(new RegExp(`^${c['kind']}--${UUID4}$`));
      expect(c['id']).toBe(stix['id']);
      expect(stix['created']).toMatch(STIX_TIME);
      expect(stix['created_by_ref']).toMatch(new RegExp(`^identity--${UUID4}$`));
      for (const cve of (c['cveIds'] as string[] | undefined) ?? []) expect(cve).toMatch(/^CVE-2025-\d{5}$/);
      if (c['kind'] === 'indicator') {
        expect(['ip-src', 'ip-dst', 'domain', 'url', 'sha256']).toContain(c['iocType']);
        expect(stix['pattern']).toMatch(/^\[[a-z0-9-]+:[^\]]+ = '[^']+'\]$/);
        expect(stix['pattern'] as string).toContain(`'${c['value']}'`);
        expect(stix['pattern_type']).toBe('stix');
        expect(stix['valid_from']).toMatch(STIX_TIME);
        expect(c['indicatorTypes']).toEqual(stix['indicator_types']);
        expect(c['confidence']).toBe(stix['confidence']);
        if (c['iocType'] === 'sha256') expect(c['value']).toMatch(/^[0-9a-f]{64}$/);
        if (c['iocType'] === 'ip-src' || c['iocType'] === 'ip-dst') {
          expect(c['value']).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}$/);
        }
      } else {
        const cvss = c['cvss'] as { version: string; vectorString: string; baseScore: number; baseSeverity: string };
        expect(cvss.version).toBe('3.1');
        expect(cvss).toEqual(cvss31(cvss.vectorString));
        const refs = stix['external_references'] as { source_name: string; external_id: string }[];
        expect(refs[0]).toMatchObject({ source_name: 'cve', external_id: (c['cveIds'] as string[])[0] });
        expect(stix['name']).toBe((c['cveIds'] as string[])[0]);
      }
    }
    expect([...kinds].sort()).toEqual(['indicator', 'vulnerability']);
  });
});

describe('DemoWorld rates', () => {
  const count = (events: readonly IngestEvent[], scope: string) => events.filter((e) => e.scope === scope).length;

  it('produces the default rates over a simulated minute', () => {
    const world = new DemoWorld({ seed: 11 });
    world.skip(10_000); // past the initial spread of first reports
    const events = world.tick(60_000);
    expect(DEFAULT_DEMO_RATES).toMatchObject({ aircraftUpdateMs: 1500, vesselUpdateMs: 10_000, signalsPerSec: 3 });
    expect(count(events, 'aircraft')).toBeGreaterThan(12_000 * 0.9);
    expect(count(events, 'aircraft')).toBeLessThan(12_000 * 1.05);
    expect(count(events, 'vessels')).toBeGreaterThan(1_200 * 0.9);
    expect(count(events, 'vessels')).toBeLessThan(1_200 * 1.1);
    expect(count(events, 'signals')).toBeGreaterThan(130);
    expect(count(events, 'signals')).toBeLessThan(230);
    expect(count(events, 'alerts')).toBeGreaterThanOrEqual(1);
    expect(count(events, 'alerts')).toBeLessThan(16);
    expect(count(events, 'cyber')).toBeGreaterThan(3);
    expect(count(events, 'cyber')).toBeLessThan(24);
  });

  it('follows configured counts and rates, and a rate of 0 turns a scope off', () => {
    const world = new DemoWorld({
      seed: 12,
      aircraft: 50,
      vessels: 20,
      rates: { aircraftUpdateMs: 5_000, vesselUpdateMs: 2_000, signalsPerSec: 20, alertsPerSec: 0, cyberPerSec: 1 },
    });
    world.skip(10_000);
    const events = world.tick(60_000);
    expect(count(events, 'aircraft')).toBeGreaterThan(600 * 0.9);
    expect(count(events, 'aircraft')).toBeLessThan(600 * 1.1);
    expect(count(events, 'vessels')).toBeGreaterThan(600 * 0.9);
    expect(count(events, 'vessels')).toBeLessThan(600 * 1.1);
    expect(count(events, 'signals')).toBeGreaterThan(1_200 * 0.85);
    expect(count(events, 'signals')).toBeLessThan(1_200 * 1.15);
    expect(count(events, 'alerts')).toBe(0);
    expect(count(events, 'cyber')).toBeGreaterThan(35);
    expect(count(events, 'cyber')).toBeLessThan(90);
  });

  it('vessels go silent and are replaced', () => {
    const world = new DemoWorld({
      seed: 13,
      aircraft: 0,
      vessels: 100,
      rates: { vesselMeanVisibleMs: 5 * 60_000, signalsPerSec: 0, alertsPerSec: 0, cyberPerSec: 0 },
    });
    const first = new Set(world.tick(30_000).map((e) => e.data['id']));
    world.skip(9 * 60_000);
    const last = new Set(world.tick(30_000).map((e) => e.data['id']));
    expect(first.size).toBeGreaterThanOrEqual(100);
    expect([...first].filter((id) => !last.has(id)).length).toBeGreaterThan(50);
    expect(last.size).toBeGreaterThan(85);
    expect(world.activeVessels).toBeLessThanOrEqual(100);
  });

  it('rejects bad options with the name of the field', () => {
    expect(() => resolveRates({ vesselUpdateMs: 0 })).toThrow(/rates\.vesselUpdateMs/);
    expect(() => resolveRates({ signalsPerSec: -1 })).toThrow(/rates\.signalsPerSec/);
    expect(() => resolveRates({ signalsPerSec: Number.NaN })).toThrow(/rates\.signalsPerSec/);
    expect(() => resolveRates({ bogus: 1 } as never)).toThrow(/unknown rate "bogus"/);
    expect(() => new DemoWorld({ seed: 1, aircraft: -1 })).toThrow(/aircraft/);
    expect(() => new DemoWorld({ seed: 1, vessels: 1.5 })).toThrow(/vessels/);
    expect(() => new DemoWorld({ seed: 1 }).tick(-5)).toThrow(/duration/);
    expect(resolveRates({ alertsPerSec: 0.5 })).toEqual({ ...DEFAULT_DEMO_RATES, alertsPerSec: 0.5 });
  });
});

describe('cvss31', () => {
  it('scores vectors as the FIRST calculator does', () => {
    expect(cvss31('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatchObject({
      baseScore: 9.8,
      baseSeverity: 'CRITICAL',
    });
    expect(cvss31('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H').baseScore).toBe(10);
    expect(cvss31('CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N')).toMatchObject({
      baseScore: 6.1,
      baseSeverity: 'MEDIUM',
    });
    expect(cvss31('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H').baseScore).toBe(7.5);
    expect(cvss31('CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H').baseScore).toBe(7.8);
    expect(cvss31('CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N')).toMatchObject({
      baseScore: 3.3,
      baseSeverity: 'LOW',
    });
    expect(cvss31('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N')).toMatchObject({
      baseScore: 0,
      baseSeverity: 'NONE',
    });
    expect(() => cvss31('CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toThrow(/not a CVSS 3.1/);
    expect(() => cvss31('CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toThrow(/AV/);
  });
});
