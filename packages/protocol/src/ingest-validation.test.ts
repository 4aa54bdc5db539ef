import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ItemResult, validateIngestItem } from './ingest-validation.js';
import { MAX_ENTITY_ID_LENGTH, SCOPES } from './scopes.js';

function ok(result: ItemResult) {
  if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`);
  return result.event;
}

function reason(result: ItemResult): string {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.event)}`);
  return result.reason;
}

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
};

// OpenSky state vector converted to our units, as the demo feed and adapters send it.
const openSkyAircraft = {
  id: '3c6444',
  icao24: '3c6444',
  callsign: 'DLH4AB  ',
  lat: 50.0333,
  lon: 8.5706,
  altBaroFt: 37000,
  altGeomFt: 37425,
  onGround: false,
  groundSpeedKt: 452.1,
  trackDeg: 271.5,
  vertRateFpm: -64,
  squawk: '1000',
  emergency: 'none',
  category: 'A3',
  positionSource: 'adsb',
  lastSeenTs: 1710000000000,
};

const aisVessel = {
  id: '244660000',
  mmsi: '244660000',
  lat: 51.95,
  lon: 4.05,
  sogKt: 12.3,
  cogDeg: 87.4,
  headingDeg: 88,
  navStatus: 0,
  name: 'EVER GIVEN',
  callSign: 'H3RC',
  imo: 9811000,
  shipType: 70,
  lengthM: 399.9,
  beamM: 58.8,
  draughtM: 14.5,
  destination: 'NLRTM',
  etaTs: 1710050000000,
};

const capAlert = {
  id: 'urn:oid:2.49.0.1.840.0.2024.3.10.14.30',
  identifier: 'NWS-IDP-PROD-4512345',
  sender: 'w-nws.webmaster@noaa.gov',
  sent: '2024-03-10T14:30:00-05:00',
  status: 'Actual',
  msgType: 'Alert',
  category: 'Met',
  event: 'Tornado Warning',
  urgency: 'Immediate',
  severity: 'Extreme',
  certainty: 'Observed',
  headline: 'Tornado Warning issued March 10 at 2:30PM CDT',
  description: 'A confirmed tornado was located near Springfield.',
  expires: '2024-03-10T15:15:00-05:00',
  geometry: {
    type: 'Polygon',
    coordinates: [
      [
        [-93.3, 37.2],
        [-93.1, 37.2],
        [-93.1, 37.3],
        [-93.3, 37.2],
      ],
    ],
  },
};

const stixIndicator = {
  kind: 'indicator',
  stix: {
    type: 'indicator',
    spec_version: '2.1',
    id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
    created: '2024-03-10T14:30:00.000Z',
    modified: '2024-03-10T14:30:00.000Z',
    indicator_types: ['malicious-activity'],
    pattern: "[ipv4-addr:value = '198.51.100.7']",
    pattern_type: 'stix',
    valid_from: '2024-03-10T14:30:00Z',
  },
  confidence: 85,
  indicatorTypes: ['malicious-activity'],
  iocType: 'ip-src',
  value: '198.51.100.7',
};

const cveVulnerability = {
  kind: 'vulnerability',
  cveIds: ['CVE-2024-3094'],
  cvss: {
    version: '3.1',
    vectorString: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H',
    baseScore: 10,
    baseSeverity: 'CRITICAL',
  },
};

const rfSignal = {
  kind: 'rf',
  label: 'Unidentified burst',
  ts: 1710000000000,
  tsEnd: 1710000000500,
  confidence: 60,
  lat: 52.52,
  lon: 13.405,
  freqHz: 433_920_000,
  bandwidthHz: 25_000,
  modulation: 'FSK',
  powerDbfs: -42.5,
  sensorId: 'sdr-berlin-01',
};

const osintSignal = {
  kind: 'osint',
  label: 'Protest reported',
  ts: 1710000000000,
  url: 'https://example.org/news/123',
  code: '141',
  tone: -3.2,
  confidence: 40,
};

describe('validateIngestItem: valid items per scope', () => {
  it('accepts an OpenSky-style aircraft and trims the callsign', () => {
    const event = ok(validateIngestItem({ scope: 'aircraft', data: openSkyAircraft }));
    expect(event.scope).toBe('aircraft');
    expect(event.data).toEqual({ ...openSkyAircraft, callsign: 'DLH4AB' });
  });

  it('accepts an AIS vessel unchanged (same object when nothing is normalised)', () => {
    const event = ok(validateIngestItem({ scope: 'vessels', data: aisVessel }));
    expect(event.data).toBe(aisVessel);
  });

  it('accepts a CAP alert, with and without an id', () => {
    expect(ok(validateIngestItem({ scope: 'alerts', data: capAlert })).data).toEqual(capAlert);
    const { id: _id, ...noId } = capAlert;
    expect(ok(validateIngestItem({ scope: 'alerts', data: noId })).data).toEqual(noId);
  });

  it('accepts a STIX indicator and a CVE vulnerability', () => {
    expect(ok(validateIngestItem({ scope: 'cyber', data: stixIndicator })).data).toEqual(stixIndicator);
    expect(ok(validateIngestItem({ scope: 'cyber', data: cveVulnerability })).data).toEqual(cveVulnerability);
  });

  it('accepts RF and OSINT signals', () => {
    expect(ok(validateIngestItem({ scope: 'signals', data: rfSignal })).data).toEqual(rfSignal);
    expect(ok(validateIngestItem({ scope: 'signals', data: osintSignal })).data).toEqual(osintSignal);
  });

  it('accepts a minimal entity (id only) and an empty log event', () => {
    expect(ok(validateIngestItem({ scope: 'aircraft', data: { id: 'x' } })).data).toEqual({ id: 'x' });
    expect(ok(validateIngestItem({ scope: 'signals', data: {} })).data).toEqual({});
  });

  it('does not enforce the format of an entity id', () => {
    for (const id of ['~abc123', 'not an mmsi', 'ÄÖÜ', 'x'.repeat(MAX_ENTITY_ID_LENGTH)]) {
      expect(validateIngestItem({ scope: 'vessels', data: { id } }).ok).toBe(true);
    }
  });

  it('passes unknown fields through unchanged, including nested and null ones', () => {
    const extra = { rssi: -21.3, nested: { deep: [1, { two: 2 }] }, nothing: null, alt_baro: 'ground' };
    const event = ok(validateIngestItem({ scope: 'aircraft', data: { id: 'a1', ...extra } }));
    expect(event.data).toEqual({ id: 'a1', ...extra });
    expect(event.data['nested']).toBe(extra.nested);
  });
});

describe('validateIngestItem: normalisation', () => {
  it('removes every AIS "not available" value, on a copy', () => {
    const input = deepFreeze({ ...aisVessel, lat: 91, lon: 181, sogKt: 102.3, cogDeg: 360, headingDeg: 511 });
    const event = ok(validateIngestItem({ scope: 'vessels', data: input }));
    for (const field of ['lat', 'lon', 'sogKt', 'cogDeg', 'headingDeg']) expect(event.data).not.toHaveProperty(field);
    expect(event.data['mmsi']).toBe('244660000');
    expect(event.data).not.toBe(input);
    expect(input.lat).toBe(91);
  });

  it('removes AIS sentinels only for vessels', () => {
    expect(reason(validateIngestItem({ scope: 'aircraft', data: { id: 'a', lat: 91 } }))).toMatch(
      /^aircraft\.data\.lat: expected a number in \[-90, 90\]/,
    );
  });

  it('treats null on a known field as absent', () => {
    const event = ok(validateIngestItem({ scope: 'aircraft', data: { id: 'a', lat: null, squawk: null } }));
    expect(event.data).toEqual({ id: 'a' });
  });

  it('maps readsb "ground" altitude and blank callsigns to absent, lowercases icao24', () => {
    const input = deepFreeze({ id: 'A', altBaroFt: 'ground', callsign: '        ', icao24: '3C6444' });
    const event = ok(validateIngestItem({ scope: 'aircraft', data: input }));
    expect(event.data).toEqual({ id: 'A', icao24: '3c6444' });
  });

  it('never mutates its input (frozen input still validates)', () => {
    const item = deepFreeze({ scope: 'vessels', data: { id: '1', lat: 91, unknown: { x: 1 } } });
    expect(ok(validateIngestItem(item)).data).toEqual({ id: '1', unknown: { x: 1 } });
  });
});

describe('validateIngestItem: rejections name the field', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'not an object',
      'aircraft',
      /^item: expected an object \{"scope": "...", "data": \{...\}\}, got string "aircraft"$/,
    ],
    ['an array', [], /^item: expected an object .*got an array of length 0$/],
    ['null', null, /^item: expected an object .*got null$/],
    ['wire shape instead of ingest shape', { type: 'aircraft', data: { id: 'a' } }, /^item: unexpected key "type"/],
    ['extra top-level key', { scope: 'aircraft', data: { id: 'a' }, seq: 1 }, /^item: unexpected key "seq"/],
    ['missing scope', { data: { id: 'a' } }, /^scope: required, one of signals, aircraft, vessels, alerts, cyber$/],
    ['unknown scope', { scope: 'ships', data: {} }, /^scope: expected one of .*, got string "ships"$/],
    ['scope in the wrong case', { scope: 'Aircraft', data: {} }, /^scope: expected one of/],
    ['missing data', { scope: 'signals' }, /^signals\.data: required, an object$/],
    ['data an array', { scope: 'signals', data: [] }, /^signals\.data: expected an object, got an array/],
    ['entity without id', { scope: 'aircraft', data: { lat: 1 } }, /^aircraft\.data\.id: required/],
    [
      'entity with numeric id',
      { scope: 'vessels', data: { id: 244660000 } },
      /^vessels\.data\.id: expected .*got 244660000$/,
    ],
    ['entity with empty id', { scope: 'vessels', data: { id: '' } }, /^vessels\.data\.id: expected a non-empty string/],
    [
      'entity id too long',
      { scope: 'aircraft', data: { id: 'x'.repeat(MAX_ENTITY_ID_LENGTH + 1) } },
      /^aircraft\.data\.id: expected a non-empty string of at most 128 characters/,
    ],
    ['log id not a string', { scope: 'alerts', data: { id: 7 } }, /^alerts\.data\.id: expected/],
    [
      'altitude as string',
      { scope: 'aircraft', data: { id: 'a', altBaroFt: '37000' } },
      /^aircraft\.data\.altBaroFt: expected a finite number, got string "37000"$/,
    ],
    [
      'latitude out of range',
      { scope: 'signals', data: { lat: 95.2 } },
      /^signals\.data\.lat: expected a number in \[-90, 90\], got 95\.2$/,
    ],
    [
      'longitude out of range',
      { scope: 'aircraft', data: { id: 'a', lon: -181 } },
      /^aircraft\.data\.lon: expected a number in \[-180, 180\]/,
    ],
    [
      'squawk as a number',
      { scope: 'aircraft', data: { id: 'a', squawk: 7700 } },
      /^aircraft\.data\.squawk: expected a string of 4 octal digits, got 7700$/,
    ],
    ['squawk with an 8', { scope: 'aircraft', data: { id: 'a', squawk: '7800' } }, /^aircraft\.data\.squawk:/],
    [
      'icao24 too short',
      { scope: 'aircraft', data: { id: 'a', icao24: '3c644' } },
      /^aircraft\.data\.icao24: expected 6 hex digits/,
    ],
    [
      'emergency spelling',
      { scope: 'aircraft', data: { id: 'a', emergency: 'Lifeguard' } },
      /^aircraft\.data\.emergency: expected one of none, general/,
    ],
    ['category out of range', { scope: 'aircraft', data: { id: 'a', category: 'E1' } }, /^aircraft\.data\.category:/],
    [
      'onGround as string',
      { scope: 'aircraft', data: { id: 'a', onGround: 'true' } },
      /^aircraft\.data\.onGround: expected a boolean/,
    ],
    [
      'NaN speed',
      { scope: 'aircraft', data: { id: 'a', groundSpeedKt: Number.NaN } },
      /^aircraft\.data\.groundSpeedKt: expected a finite number >= 0, got NaN$/,
    ],
    [
      'seconds timestamp',
      { scope: 'aircraft', data: { id: 'a', lastSeenTs: 1710000000 } },
      /^aircraft\.data\.lastSeenTs: expected epoch milliseconds \(this looks like epoch seconds\)/,
    ],
    [
      'microseconds timestamp',
      { scope: 'signals', data: { ts: 1710000000000000 } },
      /^signals\.data\.ts: expected epoch milliseconds \(this looks like microseconds\)/,
    ],
    [
      'navStatus 16',
      { scope: 'vessels', data: { id: '1', navStatus: 16 } },
      /^vessels\.data\.navStatus: expected an integer in \[0, 15\], got 16$/,
    ],
    ['navStatus fractional', { scope: 'vessels', data: { id: '1', navStatus: 1.5 } }, /^vessels\.data\.navStatus:/],
    [
      'mmsi as number',
      { scope: 'vessels', data: { id: '1', mmsi: 244660000 } },
      /^vessels\.data\.mmsi: expected a string of 9 digits/,
    ],
    [
      'heading 400 (not the sentinel)',
      { scope: 'vessels', data: { id: '1', headingDeg: 400 } },
      /^vessels\.data\.headingDeg: expected a number in \[0, 360\)/,
    ],
    ['latitude 90.5 (not the sentinel)', { scope: 'vessels', data: { id: '1', lat: 90.5 } }, /^vessels\.data\.lat:/],
    ['shipType 100', { scope: 'vessels', data: { id: '1', shipType: 100 } }, /^vessels\.data\.shipType:/],
    [
      'CAP severity lowercase',
      { scope: 'alerts', data: { severity: 'severe' } },
      /^alerts\.data\.severity: expected one of Extreme, Severe, Moderate, Minor, Unknown, got string "severe"$/,
    ],
    ['CAP status', { scope: 'alerts', data: { status: 'Real' } }, /^alerts\.data\.status:/],
    [
      'CAP sent as epoch',
      { scope: 'alerts', data: { sent: 1710000000000 } },
      /^alerts\.data\.sent: expected a CAP date-time string/,
    ],
    [
      'geometry without type',
      { scope: 'alerts', data: { geometry: { coordinates: [] } } },
      /^alerts\.data\.geometry\.type: expected one of Point/,
    ],
    [
      'geometry a Feature',
      { scope: 'alerts', data: { geometry: { type: 'Feature', geometry: null } } },
      /^alerts\.data\.geometry\.type:/,
    ],
    [
      'geometry as CAP string',
      { scope: 'alerts', data: { geometry: '37.2,-93.3 37.3,-93.1' } },
      /^alerts\.data\.geometry: expected a GeoJSON geometry object/,
    ],
    [
      'Point in lat,lon order',
      { scope: 'alerts', data: { geometry: { type: 'Point', coordinates: [37.2, -193.3] } } },
      /^alerts\.data\.geometry\.coordinates\[1\]: expected a latitude/,
    ],
    [
      'polygon without coordinates',
      { scope: 'alerts', data: { geometry: { type: 'Polygon' } } },
      /^alerts\.data\.geometry\.coordinates: expected an array, got undefined$/,
    ],
    [
      'cvss score 11',
      { scope: 'cyber', data: { cvss: { baseScore: 11 } } },
      /^cyber\.data\.cvss\.baseScore: expected a number in \[0, 10\], got 11$/,
    ],
    [
      'cvss severity lowercase',
      { scope: 'cyber', data: { cvss: { baseSeverity: 'high' } } },
      /^cyber\.data\.cvss\.baseSeverity: expected one of NONE/,
    ],
    ['cvss as a string', { scope: 'cyber', data: { cvss: '9.8' } }, /^cyber\.data\.cvss: expected an object/],
    [
      'cveIds a string',
      { scope: 'cyber', data: { cveIds: 'CVE-2024-3094' } },
      /^cyber\.data\.cveIds: expected an array of CVE ids/,
    ],
    [
      'a bad CVE id',
      { scope: 'cyber', data: { cveIds: ['CVE-2024-3094', 'cve-2024-1'] } },
      /^cyber\.data\.cveIds\[1\]: expected a CVE id/,
    ],
    [
      'confidence 101',
      { scope: 'cyber', data: { confidence: 101 } },
      /^cyber\.data\.confidence: expected a number in \[0, 100\]/,
    ],
    [
      'stix without type',
      { scope: 'cyber', data: { stix: { spec_version: '2.1' } } },
      /^cyber\.data\.stix\.type: required$/,
    ],
    [
      'stix type empty',
      { scope: 'cyber', data: { stix: { type: '' } } },
      /^cyber\.data\.stix\.type: expected a non-empty string/,
    ],
    [
      'kind unknown',
      { scope: 'cyber', data: { kind: 'malware' } },
      /^cyber\.data\.kind: expected one of indicator, vulnerability/,
    ],
    ['iocType uppercase', { scope: 'cyber', data: { iocType: 'IP-SRC' } }, /^cyber\.data\.iocType:/],
    ['signal kind', { scope: 'signals', data: { kind: 'RF' } }, /^signals\.data\.kind: expected one of rf, osint/],
    [
      'CAMEO code as number',
      { scope: 'signals', data: { code: 43 } },
      /^signals\.data\.code: expected a CAMEO event code string/,
    ],
    [
      'negative frequency',
      { scope: 'signals', data: { freqHz: -1 } },
      /^signals\.data\.freqHz: expected a finite number >= 0/,
    ],
    [
      'tsEnd before ts',
      { scope: 'signals', data: { ts: 1710000000500, tsEnd: 1710000000000 } },
      /^signals\.data\.tsEnd: expected a time >= ts/,
    ],
    [
      'url without scheme',
      { scope: 'signals', data: { url: 'example.org/x' } },
      /^signals\.data\.url: expected an absolute URL/,
    ],
  ];

  it.each(cases)('%s', (_name, item, expectedReason) => {
    expect(reason(validateIngestItem(item))).toMatch(expectedReason);
  });

  it('never echoes a huge value or key in a reason', () => {
    const huge = 'x'.repeat(1_000_000);
    const reasons = [
      reason(validateIngestItem({ scope: huge, data: {} })),
      reason(validateIngestItem({ scope: 'aircraft', data: { id: huge } })),
      reason(validateIngestItem({ scope: 'aircraft', data: { id: 'a', squawk: huge } })),
      reason(validateIngestItem({ scope: 'signals', data: { [huge]: 1 }, [huge]: 2 })),
      reason(validateIngestItem({ scope: 'cyber', data: { cveIds: Array.from({ length: 10_000 }, () => huge) } })),
    ];
    for (const r of reasons) expect(r.length).toBeLessThan(200);
  });
});

describe('validateIngestItem: op (entity lifecycle)', () => {
  it('accepts a delete of an entity with only data.id, normalised to {scope, op, data: {id}}', () => {
    expect(ok(validateIngestItem({ scope: 'aircraft', op: 'delete', data: { id: '4ca2d1' } }))).toEqual({
      scope: 'aircraft',
      op: 'delete',
      data: { id: '4ca2d1' },
    });
  });

  it('ignores (drops, does not check) other data fields of a delete', () => {
    const event = ok(validateIngestItem({ scope: 'vessels', op: 'delete', data: { id: '1', lat: 'not checked' } }));
    expect(event).toEqual({ scope: 'vessels', op: 'delete', data: { id: '1' } });
  });

  it('treats op "upsert" as the default: normalised without op, data checked as usual', () => {
    const event = ok(validateIngestItem({ scope: 'aircraft', op: 'upsert', data: { id: 'a', callsign: 'X ' } }));
    expect(event).toEqual({ scope: 'aircraft', data: { id: 'a', callsign: 'X' } });
    expect(reason(validateIngestItem({ scope: 'aircraft', op: 'upsert', data: { id: 'a', lat: 91 } }))).toMatch(
      /^aircraft\.data\.lat: /,
    );
  });

  const cases: Array<[string, unknown, RegExp]> = [
    ['delete without id', { scope: 'aircraft', op: 'delete', data: {} }, /^aircraft\.data\.id: required/],
    ['delete with a numeric id', { scope: 'vessels', op: 'delete', data: { id: 7 } }, /^vessels\.data\.id: expected/],
    ['delete without data', { scope: 'aircraft', op: 'delete' }, /^aircraft\.data: required, an object$/],
    [
      'delete on a log scope',
      { scope: 'signals', op: 'delete', data: { id: 'x' } },
      /^signals\.op: log scopes are append-only and take no "op" \(got string "delete"\); remove it$/,
    ],
    ['upsert on a log scope', { scope: 'alerts', op: 'upsert', data: {} }, /^alerts\.op: log scopes are append-only/],
    [
      'unknown op',
      { scope: 'aircraft', op: 'remove', data: { id: 'a' } },
      /^aircraft\.op: expected "upsert" or "delete", got string "remove"$/,
    ],
    ['op not a string', { scope: 'aircraft', op: null, data: { id: 'a' } }, /^aircraft\.op: expected .*got null$/],
    [
      'another top-level key next to op',
      { scope: 'aircraft', op: 'delete', data: { id: 'a' }, reason: 'gone' },
      /^item: unexpected key "reason"; an item is .* with an optional "op"/,
    ],
  ];
  it.each(cases)('rejects %s', (_name, raw, pattern) => {
    expect(reason(validateIngestItem(raw))).toMatch(pattern);
  });
});

describe('validateIngestItem: properties', () => {
  it('never throws and always returns ok with an event or a non-empty reason', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), (raw) => {
        const result = validateIngestItem(raw);
        if (result.ok) expect(SCOPES).toContain(result.event.scope);
        else expect(result.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  const knownishValue = fc.oneof(
    fc.anything(),
    fc.double(),
    fc.integer({ min: -1000, max: 1000 }),
    fc.constantFrom(91, 181, 102.3, 360, 511, 'ground', 'none', 'Severe', '7700', '3c6444', null),
  );
  const knownFields = fc.constantFrom(
    'id',
    'lat',
    'lon',
    'altBaroFt',
    'squawk',
    'callsign',
    'icao24',
    'navStatus',
    'headingDeg',
    'sogKt',
    'severity',
    'geometry',
    'cvss',
    'cveIds',
    'ts',
    'tsEnd',
    'confidence',
    'stix',
  );
  const item = fc.record({
    scope: fc.constantFrom(...SCOPES),
    data: fc.dictionary(fc.oneof(knownFields, fc.string()), knownishValue),
  });

  it('on scope-shaped items: never throws, never mutates input, keeps every unknown field', () => {
    fc.assert(
      fc.property(item, (raw) => {
        const before = structuredClone(raw);
        const result = validateIngestItem(raw);
        expect(raw).toEqual(before);
        if (!result.ok) {
          expect(result.reason).toMatch(/^(scope|item|[a-z]+\.data)/);
          return;
        }
        for (const [key, value] of Object.entries(raw.data)) {
          if (key in result.event.data) continue;
          // Only known fields may be removed, and only for absent-meaning values.
          expect(
            value === null ||
              [91, 181, 102.3, 360, 511, 'ground'].includes(value as never) ||
              typeof value === 'string',
          ).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts any non-empty id up to the maximum length for entity scopes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('aircraft', 'vessels'),
        fc.string({ minLength: 1, maxLength: MAX_ENTITY_ID_LENGTH }),
        (scope, id) => {
          expect(validateIngestItem({ scope, data: { id } }).ok).toBe(true);
        },
      ),
    );
  });
});
