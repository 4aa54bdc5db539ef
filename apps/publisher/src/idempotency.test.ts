import { MAX_IDEMPOTENCY_KEY_LENGTH } from '@hydra/backplane';
import { describe, expect, it } from 'vitest';
import { idempotencyKeyFor, readIdempotencyHeader } from './idempotency.js';

describe('idempotencyKeyFor', () => {
  it('keys log items by data.id (42 and "42" alike), else by the batch header and index; entity items get none', () => {
    expect(idempotencyKeyFor({ scope: 'alerts', data: { id: 'cap-1' } }, 3, 'b')).toBe('id:cap-1');
    expect(idempotencyKeyFor({ scope: 'cyber', data: { id: 42 } }, 0, undefined)).toBe('id:42');
    expect(idempotencyKeyFor({ scope: 'cyber', data: { id: '42' } }, 0, undefined)).toBe('id:42');
    expect(idempotencyKeyFor({ scope: 'signals', data: { text: 'x' } }, 5, 'batch-9')).toBe('batch:batch-9:5');
    expect(idempotencyKeyFor({ scope: 'signals', data: { id: '' } }, 5, undefined)).toBeUndefined();
    expect(idempotencyKeyFor({ scope: 'aircraft', data: { id: 'a' } }, 0, 'b')).toBeUndefined();
  });

  it('hashes a key longer than the bus takes, the same way every time', () => {
    const id = 'x'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH);
    const key = idempotencyKeyFor({ scope: 'alerts', data: { id } }, 0, undefined);
    expect(key).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(idempotencyKeyFor({ scope: 'alerts', data: { id } }, 9, 'other')).toBe(key);
  });
});

describe('readIdempotencyHeader', () => {
  it('takes 1 to 200 printable ASCII characters and refuses anything else with a reason', () => {
    expect(readIdempotencyHeader(undefined)).toBeUndefined();
    expect(readIdempotencyHeader('feed-42/2026-12-06T20:00Z')).toBe('feed-42/2026-12-06T20:00Z');
    for (const bad of ['', 'x'.repeat(201), 'caf\u00e9', ['a', 'b']]) {
      expect(readIdempotencyHeader(bad)).toEqual({ invalid: expect.stringContaining('Idempotency-Key') });
    }
  });
});
