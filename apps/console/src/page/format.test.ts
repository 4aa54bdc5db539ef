import { describe, expect, it } from 'vitest';
import { readApiKey, streamUrlOf } from './api-key.js';
import { describeStatus } from './connection-status.js';
import {
  capSeverityClass,
  cvssOf,
  cvssSeverityClass,
  cyberTitle,
  entityLabel,
  formatAge,
  formatField,
  formatFrequency,
  headingOf,
  stixType,
} from './format.js';
import { HEADING_BUCKETS, spriteIndex } from './marker-sprites.js';
import { ScopeStats } from './scope-stats.js';

describe('console formatting', () => {
  it('colours CAP severities and CVSS severities by their standard names, anything else as unknown', () => {
    expect(['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown', 'extreme', 42].map(capSeverityClass)).toEqual([
      'sev-extreme',
      'sev-severe',
      'sev-moderate',
      'sev-minor',
      'sev-unknown',
      'sev-unknown',
      'sev-unknown',
    ]);
    expect(['CRITICAL', 'LOW', 'NONE', 'bad', undefined].map(cvssSeverityClass)).toEqual([
      'cvss-critical',
      'cvss-low',
      'cvss-none',
      'cvss-unknown',
      'cvss-unknown',
    ]);
  });

  it('points aircraft by trackDeg, vessels by headingDeg then cogDeg; absent or non-numeric is unknown', () => {
    expect(headingOf('aircraft', { trackDeg: 90, headingDeg: 10 })).toBe(90);
    expect(headingOf('aircraft', { trackDeg: '90' })).toBeUndefined();
    expect(headingOf('vessels', { headingDeg: 45, cogDeg: 50 })).toBe(45);
    expect(headingOf('vessels', { cogDeg: 50 })).toBe(50);
    expect(headingOf('vessels', {})).toBeUndefined();
    expect([0, 4, 5, 355, 359.9, -10, 725].map(spriteIndex)).toEqual([0, 0, 1, 0, 0, 35, 1]);
    expect(spriteIndex(undefined)).toBe(HEADING_BUCKETS);
  });

  it('names entities, ages, frequencies and fields for display', () => {
    expect(entityLabel('aircraft', { id: 'a1', callsign: ' EIN12 ' })).toBe('EIN12');
    expect(entityLabel('vessels', { id: '244', name: '' })).toBe('244');
    expect([null, 400, 12_400, 180_000, 9_000_000].map(formatAge)).toEqual(['—', '0.4 s', '12 s', '3 min', '3 h']);
    expect(formatFrequency(1_090_000_000)).toBe('1090.000 MHz');
    expect(formatFrequency(21_886)).toBe('21.9 kHz');
    expect(formatFrequency('x')).toBe('');
    expect(formatField({ a: 1 })).toBe('{"a":1}');
    expect(formatField('x'.repeat(300)).length).toBe(200);
  });

  it('reads a STIX type, a CVSS and a title from a cyber item', () => {
    const vuln = {
      kind: 'vulnerability',
      cveIds: ['CVE-1', 'CVE-2'],
      cvss: { baseScore: 9.75, baseSeverity: 'CRITICAL' },
      stix: { type: 'vulnerability' },
    };
    expect(stixType(vuln)).toBe('vulnerability');
    expect(stixType({ kind: 'indicator' })).toBe('indicator');
    expect(cvssOf(vuln)).toEqual({ score: '9.8', severity: 'CRITICAL' });
    expect(cvssOf({ cvss: { baseSeverity: 'LOW' } })).toBeUndefined();
    expect(cyberTitle(vuln)).toBe('CVE-1, CVE-2');
    expect(cyberTitle({ value: '198.51.100.1', stix: { name: 'C2 server' } })).toBe('C2 server');
  });

  it('describes the SDK’s status with the close code and reason', () => {
    const url = 'ws://h/v1/stream';
    expect(describeStatus({ state: 'open', url })).toBe('open');
    expect(
      describeStatus({ state: 'reconnecting', url, code: 1001, reason: 'going away', attempt: 2, delayMs: 400 }),
    ).toBe('reconnecting 1001 going away (attempt 2, retry in 0.4 s)');
    expect(describeStatus({ state: 'closed', url, code: 1008, reason: 'invalid, expired, or revoked API key' })).toBe(
      'closed 1008 invalid, expired, or revoked API key',
    );
  });
});

describe('the console’s key', () => {
  const storage = () => {
    const held = new Map<string, string>();
    return { getItem: (k: string) => held.get(k) ?? null, setItem: (k: string, v: string) => void held.set(k, v) };
  };

  it('comes from the fragment, is kept for the tab, and is found there again without the fragment', () => {
    const s = storage();
    expect(readApiKey('#key=hydra_k1_abc', s)).toBe('hydra_k1_abc');
    expect(readApiKey('', s)).toBe('hydra_k1_abc');
    expect(readApiKey('#key=hydra_k1_new', s)).toBe('hydra_k1_new');
    expect(readApiKey('#other=1', storage())).toBeNull();
    expect(readApiKey('#key=x', null)).toBe('x');
    const refusing = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
    };
    expect(readApiKey('#key=x', refusing)).toBe('x');
    expect(readApiKey('', refusing)).toBeNull();
  });

  it('is sent to the stream of the page’s own origin, wss: under https:', () => {
    expect(streamUrlOf({ protocol: 'http:', host: 'localhost:8080' })).toBe('ws://localhost:8080/v1/stream');
    expect(streamUrlOf({ protocol: 'https:', host: 'hydra.example' })).toBe('wss://hydra.example/v1/stream');
  });
});

describe('ScopeStats', () => {
  it('counts events per second over the last 5 s, the last seq, the age, and log items after a snapshot', () => {
    const s = new ScopeStats();
    expect(s.age(1000)).toBeNull();
    s.snapshot(10, 4);
    for (let i = 0; i < 10; i++) s.event(11 + i, 100_000 + i * 100);
    expect(s.seq).toBe(20);
    expect(s.items).toBe(14);
    expect(s.rate(101_000)).toBe(2);
    expect(s.age(101_000)).toBe(100);
    expect(s.rate(106_000)).toBe(0); // the window (in 250 ms buckets) has passed
    s.event(21, 200_000);
    expect(s.rate(200_000)).toBe(0.2);
    s.snapshot(30, 2); // a resync's snapshot starts the log count again
    expect(s.items).toBe(2);
  });
});
