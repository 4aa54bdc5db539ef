import { describe, expect, it } from 'vitest';
import { createBearerCheck } from './bearer-auth.js';

describe('createBearerCheck', () => {
  const check = createBearerCheck('tok-123');

  it('accepts the exact token, scheme case-insensitive', () => {
    expect(check('Bearer tok-123')).toBe(true);
    expect(check('bearer tok-123')).toBe(true);
  });

  it.each([
    [undefined],
    [''],
    ['tok-123'],
    ['Bearer'],
    ['Bearer tok-1234'],
    ['Bearer tok-12'],
    ['Basic tok-123'],
    ['Bearer tok-123 extra'],
  ])('refuses %j', (header) => {
    expect(check(header)).toBe(false);
  });
});
