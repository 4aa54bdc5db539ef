import { type ApiKeyRecord, type KeyStatus, keyStatus } from '@hydra/backplane';
import type { Scope } from '@hydra/protocol';

/**
 * A key record as the CLI shows it: times as ISO 8601 (UTC), never the key
 * itself nor its hash.
 */
export interface KeyView {
  id: string;
  name: string | null;
  scopes: Scope[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  status: Exclude<KeyStatus, 'unknown'>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function keyView(record: ApiKeyRecord, now: number): KeyView {
  const status = keyStatus(record, now);
  return {
    id: record.id,
    name: record.name,
    scopes: [...record.scopes],
    createdAt: iso(record.createdAt) as string,
    expiresAt: iso(record.expiresAt),
    revokedAt: iso(record.revokedAt),
    status: status === 'unknown' ? 'valid' : status,
  };
}

/** Renders rows as a left-aligned text table with a header line. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
