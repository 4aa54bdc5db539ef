import { describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import {
  DEFAULT_TAIL_URL,
  displayUrl,
  formatAltitude,
  formatClock,
  formatEventLine,
  formatFrequency,
  formatRateLine,
  formatSnapshotLine,
  formatWarning,
  parseTailArgs,
  summarizeEvent,
} from '../src/tail/index.js';

const NOON = Date.UTC(2025, 0, 1, 12, 0, 1);
const ESC = '\u001b';

describe('tail line formatting', () => {
  it('prints an aircraft as id, callsign, position, level, speed and track', () => {
    const data = {
      id: '4ca2d1',
      icao24: '4ca2d1',
      callsign: 'EIN123',
      lat: 53.4213,
      lon: -6.2701,
      altBaroFt: 37000,
      groundSpeedKt: 450.4,
      trackDeg: 271.2,
      emergency: 'none',
    };
    expect(formatEventLine('aircraft', 123, NOON, data, false)).toBe(
      '12:00:01 aircraft #123 4ca2d1 EIN123 53.42,-6.27 FL370 450kt 271°',
    );
  });

  it('flags an aircraft emergency with its squawk', () => {
    const line = summarizeEvent('aircraft', { icao24: 'abc123', emergency: 'general', squawk: '7700', onGround: true });
    expect(line).toBe('abc123 - ground EMERGENCY general sq7700');
  });

  it('prints altitude as a flight level, feet, or ground', () => {
    expect(formatAltitude({ altBaroFt: 37000 })).toBe('FL370');
    expect(formatAltitude({ altBaroFt: 9500 })).toBe('9500ft');
    expect(formatAltitude({ altGeomFt: 12025 })).toBe('FL120');
    expect(formatAltitude({ onGround: true, altBaroFt: 100 })).toBe('ground');
    expect(formatAltitude({ altBaroFt: 'ground' })).toBeUndefined();
  });

  it('prints a vessel with speed, course, status and destination', () => {
    const data = {
      mmsi: '250123456',
      name: 'CELTIC DAWN',
      lat: 53.34,
      lon: -6.05,
      sogKt: 12.34,
      cogDeg: 95.4,
      navStatus: 0,
      destination: 'GB HLY',
    };
    expect(summarizeEvent('vessels', data)).toBe('250123456 CELTIC DAWN 53.34,-6.05 12.3kt 95° under way → GB HLY');
    expect(summarizeEvent('vessels', { mmsi: '250123456', navStatus: 5, sogKt: 0 })).toBe('250123456 0.0kt moored');
  });

  it('prints RF and OSINT signals', () => {
    expect(
      summarizeEvent('signals', {
        kind: 'rf',
        label: 'VHF marine voice ch16',
        freqHz: 156_800_000,
        modulation: 'FM',
        powerDbfs: -45.25,
        sensorId: 'sdr-ie-dub-01',
        lat: 53.3,
        lon: -6.2,
      }),
    ).toBe('rf 156.800MHz FM -45.3dBFS sdr-ie-dub-01 VHF marine voice ch16 53.30,-6.20');
    expect(summarizeEvent('signals', { kind: 'osint', code: '141', tone: -3.24, label: 'Dock workers rally' })).toBe(
      'osint 141 tone -3.2 Dock workers rally',
    );
    expect(formatFrequency(1_575_420_000)).toBe('1.575GHz');
    expect(formatFrequency(433_000)).toBe('433.0kHz');
    expect(formatFrequency(50)).toBe('50Hz');
  });

  it('prints alerts with severity, message type and status when notable', () => {
    expect(
      summarizeEvent('alerts', {
        severity: 'Moderate',
        msgType: 'Alert',
        status: 'Actual',
        headline: 'Moderate wind warning for Attica',
      }),
    ).toBe('Moderate wind warning for Attica');
    expect(summarizeEvent('alerts', { severity: 'Severe', headline: 'Severe gale warning' }, true)).toBe(
      `${ESC}[1;31mSevere${ESC}[0m gale warning`,
    );
    expect(summarizeEvent('alerts', { severity: 'Minor', msgType: 'Cancel', status: 'Exercise', event: 'Fog' })).toBe(
      'Minor Cancel [Exercise] Fog',
    );
    expect(summarizeEvent('alerts', { severity: 'Extreme', event: 'Wind' }, true)).toContain(`${ESC}[1;31mExtreme`);
  });

  it('prints indicators and vulnerabilities', () => {
    expect(
      summarizeEvent('cyber', {
        kind: 'indicator',
        iocType: 'ip-dst',
        value: '198.51.100.7',
        confidence: 61,
        stix: { type: 'indicator', name: 'AsyncRAT command and control server' },
      }),
    ).toBe('indicator ip-dst 198.51.100.7 conf 61 "AsyncRAT command and control server"');
    expect(
      summarizeEvent('cyber', {
        kind: 'vulnerability',
        cveIds: ['CVE-2025-12345'],
        cvss: { baseScore: 9.8, baseSeverity: 'CRITICAL' },
        stix: { type: 'vulnerability', description: 'An SQL injection' },
      }),
    ).toBe('vulnerability CVE-2025-12345 9.8 CRITICAL An SQL injection');
  });

  it('never lets untrusted strings reach the terminal as escape sequences', () => {
    const line = formatEventLine(
      'vessels',
      1,
      NOON,
      { mmsi: '250123456', name: `EVIL${ESC}]0;pwned\u0007${ESC}[2J\u202eNAME`, destination: 'x'.repeat(500) },
      false,
    );
    expect(line).not.toContain(ESC);
    expect(line).not.toContain('\u0007');
    expect(line).not.toContain('\u202e');
    expect(line.length).toBeLessThan(120);
  });

  it('tolerates missing and mistyped fields', () => {
    expect(summarizeEvent('aircraft', {})).toBe('- -');
    expect(summarizeEvent('aircraft', { lat: '53', lon: null, groundSpeedKt: Number.NaN })).toBe('- -');
    expect(summarizeEvent('cyber', { stix: 'nope', cveIds: 'CVE-1' })).toBe('cyber');
    expect(summarizeEvent('signals', {})).toBe('signal');
  });

  it('colours the scope only when asked', () => {
    const data = { icao24: '4ca2d1' };
    expect(formatEventLine('aircraft', 1, NOON, data, false)).not.toContain(ESC);
    expect(formatEventLine('aircraft', 1, NOON, data, true)).toContain(`${ESC}[36maircraft${ESC}[0m`);
    expect(formatEventLine('cyber', 1, NOON, {}, true)).toContain(`${ESC}[32mcyber`);
  });

  it('formats snapshot, rate and warning lines', () => {
    expect(formatSnapshotLine('aircraft', 123, 300, NOON, false)).toBe('12:00:01 snapshot aircraft seq=123 items=300');
    expect(
      formatRateLine(
        [
          ['aircraft', 2013],
          ['vessels', 199],
          ['alerts', 1],
        ],
        10_000,
        NOON,
        false,
      ),
    ).toBe('12:00:01 rate aircraft 201/s vessels 19.9/s alerts 0.10/s');
    expect(formatWarning('aircraft seq gap', NOON, false)).toBe('12:00:01 warning: aircraft seq gap');
  });

  it('formats clocks in UTC and hides API keys in URLs', () => {
    expect(formatClock(NOON)).toBe('12:00:01');
    expect(formatClock('soon')).toBe('--:--:--');
    expect(formatClock(Number.POSITIVE_INFINITY)).toBe('--:--:--');
    expect(displayUrl('wss://h/v1/stream?apiKey=hydra_k1_secret&snapshot=false')).toBe(
      'wss://h/v1/stream?apiKey=***&snapshot=false',
    );
    expect(displayUrl('ws://localhost:8080/v1/stream')).toBe('ws://localhost:8080/v1/stream');
  });
});

describe('parseTailArgs', () => {
  const env = {};

  it('has defaults for everything but the key', () => {
    expect(parseTailArgs(['--key', 'K'], env)).toEqual({
      kind: 'tail',
      args: {
        url: DEFAULT_TAIL_URL,
        key: 'K',
        scopes: undefined,
        snapshot: true,
        bbox: [],
        compression: true,
        conflateMs: 0,
        json: false,
        rateIntervalMs: 10_000,
      },
    });
  });

  it('reads every option', () => {
    const request = parseTailArgs(
      [
        '--key=K',
        '--url',
        'wss://api.example.net/v1/stream',
        '--scopes',
        'vessels, aircraft',
        '--no-snapshot',
        '--bbox',
        '-10,50,10,60',
        '--bbox=170,-5,-170,5',
        '--no-compression',
        '--conflate',
        '5000',
        '--json',
        '--rate-interval',
        '2.5',
      ],
      env,
    );
    expect(request).toEqual({
      kind: 'tail',
      args: {
        url: 'wss://api.example.net/v1/stream',
        key: 'K',
        scopes: ['aircraft', 'vessels'],
        snapshot: false,
        bbox: [
          { minLon: -10, minLat: 50, maxLon: 10, maxLat: 60 },
          { minLon: 170, minLat: -5, maxLon: -170, maxLat: 5 },
        ],
        compression: false,
        conflateMs: 5000,
        json: true,
        rateIntervalMs: 2_500,
      },
    });
  });

  it('takes the key from HYDRA_API_KEY, the flag winning', () => {
    const fromEnv = parseTailArgs([], { HYDRA_API_KEY: 'from-env' });
    expect(fromEnv.kind === 'tail' && fromEnv.args.key).toBe('from-env');
    const fromFlag = parseTailArgs(['--key', 'flag'], { HYDRA_API_KEY: 'from-env' });
    expect(fromFlag.kind === 'tail' && fromFlag.args.key).toBe('flag');
  });

  it('answers help', () => {
    expect(parseTailArgs(['--help'], env)).toEqual({ kind: 'help' });
    expect(parseTailArgs(['-h'], env)).toEqual({ kind: 'help' });
  });

  it.each([
    [[], /missing --key \(or set HYDRA_API_KEY\)/],
    [['--key', ' '], /missing --key/],
    [['--key', 'K', '--scopes', 'aircraft,ships'], /unknown scope "ships"/],
    [['--key', 'K', '--scopes', ','], /at least one/],
    [['--key', 'K', '--url', 'http://localhost:8080/v1/stream'], /ws:\/\/ or wss:\/\//],
    [['--key', 'K', '--url', 'not a url'], /ws:\/\/ or wss:\/\//],
    [['--key', 'K', '--rate-interval', '-1'], /--rate-interval/],
    [['--key', 'K', '--rate-interval', 'often'], /--rate-interval/],
    [['--key', 'K', '--bbox', '1,2,3'], /--bbox: expected minLon,minLat,maxLon,maxLat/],
    [['--key', 'K', '--bbox', '0,10,1,5'], /--bbox: minLat must not exceed maxLat/],
    [['--key', 'K', '--bogus'], /Unknown option '--bogus'/],
    [['--key', 'K', 'extra'], /Unexpected argument 'extra'/],
  ])('rejects %j', (argv, message) => {
    let thrown: unknown;
    try {
      parseTailArgs(argv, env);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CliError);
    expect((thrown as CliError).exitCode).toBe(2);
    expect((thrown as Error).message).toMatch(message);
  });
});

describe('summarizeEvent', () => {
  it('summarizes an entity removal whatever the scope', () => {
    expect(summarizeEvent('vessels', { id: '250123456', removed: true, reason: 'deleted' })).toBe(
      '250123456 removed (deleted)',
    );
  });
});
