import type { EventData, Scope } from '@hydra/protocol';

/*
 * One line per thing seen on the stream. Everything printed from `data` is
 * untrusted: values are type-checked field by field, strings are stripped of
 * control characters (no terminal escape injection) and shortened.
 * Times are UTC, as in aviation and maritime tooling.
 */

const ESC = '\u001b[';
const RESET = `${ESC}0m`;

/** ANSI SGR code per scope. */
const SCOPE_COLOURS: Readonly<Record<Scope, string>> = {
  aircraft: '36', // cyan
  vessels: '34', // blue
  signals: '35', // magenta
  alerts: '33', // yellow
  cyber: '32', // green
};

export type Style = 'dim' | 'warn' | 'error' | 'bold';
const STYLES: Readonly<Record<Style, string>> = { dim: '2', warn: '1;33', error: '1;31', bold: '1' };

export function paint(text: string, style: Style, color: boolean): string {
  return color ? `${ESC}${STYLES[style]}m${text}${RESET}` : text;
}

export function paintScope(scope: Scope, color: boolean): string {
  return color ? `${ESC}${SCOPE_COLOURS[scope]}m${scope}${RESET}` : scope;
}

/** `HH:MM:SS` (UTC) of an epoch-ms time; `--:--:--` when not a usable time. */
export function formatClock(ts: unknown): string {
  if (typeof ts !== 'number' || !Number.isFinite(ts) || Math.abs(ts) > 8.64e15) return '--:--:--';
  return new Date(ts).toISOString().slice(11, 19);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** A string field made safe for a terminal: control and bidi characters replaced, at most `max` characters. */
export function clean(value: unknown, max = 60): string | undefined {
  if (typeof value !== 'string') return undefined;
  const safe = value.replace(UNSAFE, '?').trim();
  if (safe === '') return undefined;
  return safe.length <= max ? safe : `${safe.slice(0, max - 1)}…`;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function fixed(value: unknown, digits: number, suffix = ''): string | undefined {
  const n = num(value);
  return n === undefined ? undefined : `${n.toFixed(digits)}${suffix}`;
}

/** `53.42,-6.27`, or undefined unless both are numbers. */
function position(data: EventData): string | undefined {
  const lat = num(data['lat']);
  const lon = num(data['lon']);
  return lat === undefined || lon === undefined ? undefined : `${lat.toFixed(2)},${lon.toFixed(2)}`;
}

/** Joins the present parts with single spaces. */
function join(parts: ReadonlyArray<string | undefined | false>): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' ');
}

/** Flight level at and above 10 000 ft (`FL370`), feet below (`4500ft`), `ground` on the ground. */
export function formatAltitude(data: EventData): string | undefined {
  if (data['onGround'] === true) return 'ground';
  const alt = num(data['altBaroFt']) ?? num(data['altGeomFt']);
  if (alt === undefined) return undefined;
  return alt >= 10_000 ? `FL${String(Math.round(alt / 100)).padStart(3, '0')}` : `${Math.round(alt)}ft`;
}

const NAV_STATUS: Readonly<Record<number, string>> = {
  0: 'under way',
  1: 'at anchor',
  2: 'not under command',
  3: 'restricted manoeuvrability',
  4: 'constrained by draught',
  5: 'moored',
  6: 'aground',
  7: 'fishing',
  8: 'sailing',
  14: 'AIS-SART',
};

function aircraftSummary(data: EventData, color: boolean): string {
  const emergency = clean(data['emergency'], 12);
  const alarm = emergency !== undefined && emergency !== 'none';
  return join([
    clean(data['icao24'], 8) ?? clean(data['id'], 24) ?? '-',
    clean(data['callsign'], 8) ?? '-',
    position(data),
    formatAltitude(data),
    fixed(data['groundSpeedKt'], 0, 'kt'),
    fixed(data['trackDeg'], 0, '°'),
    alarm && paint(`EMERGENCY ${emergency} sq${clean(data['squawk'], 4) ?? '----'}`, 'error', color),
  ]);
}

function vesselSummary(data: EventData): string {
  const status = num(data['navStatus']);
  const destination = clean(data['destination'], 20);
  return join([
    clean(data['mmsi'], 9) ?? clean(data['id'], 24) ?? '-',
    clean(data['name'], 24),
    position(data),
    fixed(data['sogKt'], 1, 'kt'),
    fixed(data['cogDeg'], 0, '°'),
    status === undefined ? undefined : (NAV_STATUS[status] ?? `status ${status}`),
    destination && `→ ${destination}`,
  ]);
}

function signalSummary(data: EventData): string {
  const kind = clean(data['kind'], 8);
  if (kind === 'osint') {
    return join([
      'osint',
      clean(data['code'], 4),
      fixed(data['tone'], 1) && `tone ${fixed(data['tone'], 1)}`,
      clean(data['label']),
    ]);
  }
  const freq = num(data['freqHz']);
  return join([
    kind ?? 'signal',
    freq === undefined ? undefined : formatFrequency(freq),
    clean(data['modulation'], 10),
    fixed(data['powerDbfs'], 1, 'dBFS'),
    clean(data['sensorId'], 24),
    clean(data['label']),
    position(data),
  ]);
}

/** 156.800MHz, 1.575GHz, 14.074MHz, 433kHz. */
export function formatFrequency(hz: number): string {
  if (hz >= 1e9) return `${(hz / 1e9).toFixed(3)}GHz`;
  if (hz >= 1e6) return `${(hz / 1e6).toFixed(3)}MHz`;
  if (hz >= 1e3) return `${(hz / 1e3).toFixed(1)}kHz`;
  return `${hz}Hz`;
}

function alertSummary(data: EventData, color: boolean): string {
  const severity = clean(data['severity'], 10);
  const status = clean(data['status'], 10);
  const msgType = clean(data['msgType'], 8);
  const loud = severity === 'Extreme' || severity === 'Severe';
  const text = clean(data['headline'], 100) ?? clean(data['event']);
  // Headlines often open with the severity already ("Severe wind warning for …").
  const said = severity !== undefined && text?.startsWith(severity) === true;
  return join([
    severity && !said && (loud ? paint(severity, 'error', color) : severity),
    msgType !== undefined && msgType !== 'Alert' && msgType,
    status !== undefined && status !== 'Actual' && `[${status}]`,
    said && loud ? `${paint(severity, 'error', color)}${text!.slice(severity.length)}` : text,
  ]);
}

function cyberSummary(data: EventData, color: boolean): string {
  const stix = typeof data['stix'] === 'object' && data['stix'] !== null ? (data['stix'] as EventData) : {};
  const kind = clean(data['kind'], 16) ?? clean(stix['type'], 16) ?? 'cyber';
  const cves = Array.isArray(data['cveIds']) ? data['cveIds'].map((c) => clean(c, 20)).filter(Boolean) : [];
  if (kind === 'vulnerability') {
    const cvss = typeof data['cvss'] === 'object' && data['cvss'] !== null ? (data['cvss'] as EventData) : {};
    const severity = clean(cvss['baseSeverity'], 10);
    return join([
      kind,
      cves.join(',') || clean(stix['name'], 24),
      fixed(cvss['baseScore'], 1),
      severity && (severity === 'CRITICAL' ? paint(severity, 'error', color) : severity),
      clean(stix['description'], 70),
    ]);
  }
  const confidence = num(data['confidence']);
  return join([
    kind,
    clean(data['iocType'], 16),
    clean(data['value'], 70),
    confidence === undefined ? undefined : `conf ${confidence}`,
    cves.length > 0 && cves.join(','),
    clean(stix['name'], 60) && `"${clean(stix['name'], 60)}"`,
  ]);
}

/** The readable part of one event: the few fields an operator scans for, per scope. */
export function summarizeEvent(scope: Scope, data: EventData, color = false): string {
  // An entity leaving its scope: `{"id": …, "removed": true, "reason": "expired" | "deleted"}`.
  if (data['removed'] === true) return `${clean(data['id'], 40) ?? '-'} removed (${clean(data['reason'], 16) ?? '?'})`;
  switch (scope) {
    case 'aircraft':
      return aircraftSummary(data, color);
    case 'vessels':
      return vesselSummary(data);
    case 'signals':
      return signalSummary(data);
    case 'alerts':
      return alertSummary(data, color);
    case 'cyber':
      return cyberSummary(data, color);
  }
}

/** `12:00:01 aircraft #123 4ca2d1 EIN123 53.42,-6.27 FL370 450kt 271°`. */
export function formatEventLine(scope: Scope, seq: number, ts: number, data: EventData, color: boolean): string {
  return `${paint(formatClock(ts), 'dim', color)} ${paintScope(scope, color)} #${seq} ${summarizeEvent(scope, data, color)}`;
}

/** `12:00:00 snapshot aircraft seq=123 items=300`. */
export function formatSnapshotLine(scope: Scope, seq: number, items: number, now: number, color: boolean): string {
  return `${paint(formatClock(now), 'dim', color)} snapshot ${paintScope(scope, color)} seq=${seq} items=${items}`;
}

/** `12:00:00 resync aircraft (history_gone): restarted from the snapshot at seq=40` (after that snapshot). */
export function formatResyncLine(scope: Scope, reason: string, seq: number, now: number, color: boolean): string {
  const why = clean(reason, 40) ?? 'no reason given';
  return `${paint(formatClock(now), 'dim', color)} resync ${paintScope(scope, color)} (${why}): restarted from the snapshot at seq=${seq}`;
}

/** `12:00:00 connected ws://host/v1/stream scopes=aircraft,vessels`. */
export function formatConnectedLine(url: string, scopes: readonly Scope[], now: number, color: boolean): string {
  return `${paint(formatClock(now), 'dim', color)} ${paint('connected', 'bold', color)} ${url} scopes=${scopes.join(',')}`;
}

/** `12:00:10 rate aircraft 201.3/s vessels 19.9/s …` over the last `elapsedMs`. */
export function formatRateLine(
  counts: ReadonlyArray<readonly [Scope, number]>,
  elapsedMs: number,
  now: number,
  color: boolean,
): string {
  const seconds = Math.max(elapsedMs, 1) / 1000;
  const parts = counts.map(([scope, n]) => `${paintScope(scope, color)} ${formatRate(n / seconds)}/s`);
  return `${paint(formatClock(now), 'dim', color)} rate ${parts.join(' ')}`;
}

function formatRate(perSec: number): string {
  return perSec >= 100 ? perSec.toFixed(0) : perSec >= 10 ? perSec.toFixed(1) : perSec.toFixed(2);
}

/** A warning line (`12:00:05 warning: …`). */
export function formatWarning(message: string, now: number, color: boolean): string {
  return `${paint(formatClock(now), 'dim', color)} ${paint('warning:', 'warn', color)} ${message}`;
}

/** Removes the value of an `apiKey` query parameter, so a URL can be printed. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.searchParams.has('apiKey')) u.searchParams.set('apiKey', '***');
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
