/** Pure formatting of stream data for display: no DOM here, so it is unit-tested in Node. */

type Data = Readonly<Record<string, unknown>>;

const CAP_SEVERITIES = ['Extreme', 'Severe', 'Moderate', 'Minor'] as const;
const CVSS_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE'] as const;

/** The CSS class of a CAP severity (`sev-extreme` … `sev-minor`; anything else is `sev-unknown`). */
export function capSeverityClass(severity: unknown): string {
  const known = CAP_SEVERITIES.find((s) => s === severity);
  return `sev-${(known ?? 'Unknown').toLowerCase()}`;
}

/** The CSS class of a CVSS base severity (`cvss-critical` … `cvss-none`; else `cvss-unknown`). */
export function cvssSeverityClass(severity: unknown): string {
  const known = CVSS_SEVERITIES.find((s) => s === severity);
  return `cvss-${(known ?? 'unknown').toLowerCase()}`;
}

/** A number as a finite value, or undefined (absent, a string, NaN). */
export function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * The direction a marker points, degrees clockwise from true north:
 * aircraft by `trackDeg`, vessels by `headingDeg`, else `cogDeg` (AIS
 * "not available", 511 and 360, arrive absent). undefined: unknown.
 */
export function headingOf(scope: string, data: Data): number | undefined {
  if (scope === 'aircraft') return finite(data['trackDeg']);
  return finite(data['headingDeg']) ?? finite(data['cogDeg']);
}

/** The short name of an entity: callsign or ship name when known, else its id. */
export function entityLabel(scope: string, data: Data): string {
  const name = scope === 'aircraft' ? data['callsign'] : data['name'];
  return typeof name === 'string' && name.trim() !== '' ? name.trim() : String(data['id'] ?? '');
}

/** "0.4 s", "12 s", "3 min", "2 h" (a freshness, not a clock). */
export function formatAge(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

/** A frequency in Hz as MHz or kHz. */
export function formatFrequency(hz: unknown): string {
  const f = finite(hz);
  if (f === undefined) return '';
  return f >= 1e6 ? `${(f / 1e6).toFixed(3)} MHz` : `${(f / 1e3).toFixed(1)} kHz`;
}

/** One field's value for the details list: strings as they are, the rest as compact JSON (bounded). */
export function formatField(value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A STIX object's type (`stix.type`), else the flat `kind`. */
export function stixType(data: Data): string {
  const stix = data['stix'];
  const type = stix !== null && typeof stix === 'object' ? (stix as Data)['type'] : undefined;
  return typeof type === 'string' ? type : typeof data['kind'] === 'string' ? data['kind'] : 'object';
}

/** The CVSS of a cyber item when present: score (one decimal) and base severity. */
export function cvssOf(data: Data): { score: string; severity: string } | undefined {
  const cvss = data['cvss'];
  if (cvss === null || typeof cvss !== 'object') return undefined;
  const score = finite((cvss as Data)['baseScore']);
  const severity = (cvss as Data)['baseSeverity'];
  if (score === undefined) return undefined;
  return { score: score.toFixed(1), severity: typeof severity === 'string' ? severity : '' };
}

/** What a cyber item is about: the STIX name, else the indicator's value, else its CVE ids. */
export function cyberTitle(data: Data): string {
  const stix = data['stix'];
  const name = stix !== null && typeof stix === 'object' ? (stix as Data)['name'] : undefined;
  if (typeof name === 'string' && name !== '') return name;
  if (typeof data['value'] === 'string') return data['value'];
  const cves = data['cveIds'];
  return Array.isArray(cves) ? cves.join(', ') : String(data['id'] ?? '');
}
