/**
 * CVSS v3.1 base score from a vector string (FIRST specification, section 7),
 * so that the demo's `cvss.baseScore` and `baseSeverity` agree with its
 * `vectorString` as they do in real NVD data.
 */

export interface Cvss31 {
  version: '3.1';
  vectorString: string;
  baseScore: number;
  baseSeverity: 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
}

const AV: Record<string, number> = { N: 0.85, A: 0.62, L: 0.55, P: 0.2 };
const AC: Record<string, number> = { L: 0.77, H: 0.44 };
const UI: Record<string, number> = { N: 0.85, R: 0.62 };
const CIA: Record<string, number> = { H: 0.56, L: 0.22, N: 0 };

/** Parses `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H` and scores it. Throws on a malformed vector. */
export function cvss31(vectorString: string): Cvss31 {
  const parts = vectorString.split('/');
  if (parts[0] !== 'CVSS:3.1') throw new Error(`not a CVSS 3.1 vector: ${vectorString}`);
  const m = new Map(parts.slice(1).map((p) => p.split(':') as [string, string]));
  const get = (table: Record<string, number>, key: string): number => {
    const value = table[m.get(key) ?? ''];
    if (value === undefined) throw new Error(`CVSS 3.1 vector ${vectorString}: bad or missing ${key}`);
    return value;
  };
  const scope = m.get('S');
  if (scope !== 'U' && scope !== 'C') throw new Error(`CVSS 3.1 vector ${vectorString}: bad or missing S`);
  const changed = scope === 'C';
  const pr = { N: 0.85, L: changed ? 0.68 : 0.62, H: changed ? 0.5 : 0.27 }[m.get('PR') ?? ''];
  if (pr === undefined) throw new Error(`CVSS 3.1 vector ${vectorString}: bad or missing PR`);

  const iss = 1 - (1 - get(CIA, 'C')) * (1 - get(CIA, 'I')) * (1 - get(CIA, 'A'));
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss;
  const exploitability = 8.22 * get(AV, 'AV') * get(AC, 'AC') * pr * get(UI, 'UI');
  const baseScore =
    impact <= 0 ? 0 : roundUp(Math.min(changed ? 1.08 * (impact + exploitability) : impact + exploitability, 10));
  return { version: '3.1', vectorString, baseScore, baseSeverity: severityOf(baseScore) };
}

/** The specification's Roundup: smallest one-decimal number >= x, robust to floating-point error. */
function roundUp(x: number): number {
  const int = Math.round(x * 100_000);
  return int % 10_000 === 0 ? int / 100_000 : (Math.floor(int / 10_000) + 1) / 10;
}

export function severityOf(score: number): Cvss31['baseSeverity'] {
  if (score === 0) return 'NONE';
  if (score < 4) return 'LOW';
  if (score < 7) return 'MEDIUM';
  if (score < 9) return 'HIGH';
  return 'CRITICAL';
}
