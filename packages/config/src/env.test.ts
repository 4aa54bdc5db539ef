import { describe, expect, it } from 'vitest';
import { ConfigError, readBool, readEnum, readInt, readRedisUrl, readString, readWith } from './env.js';

/** The ConfigError a reader throws, or a failure when it does not throw one. */
function errorOf(read: () => unknown): ConfigError {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('environment readers', () => {
  it('treat unset and blank alike, and trim values', () => {
    expect(readString({ A: '  x ' }, 'A')).toBe('x');
    expect(readString({ A: '   ' }, 'A')).toBeUndefined();
    expect(readInt({}, 'A', 7, { min: 0, max: 10 })).toBe(7);
    expect(readBool({ A: '' }, 'A', true)).toBe(true);
  });

  it('read integers within their range and name the variable otherwise', () => {
    expect(readInt({ A: ' 42 ' }, 'A', 0, { min: 0, max: 100 })).toBe(42);
    expect(errorOf(() => readInt({ A: '1.5' }, 'A', 0, { min: 0, max: 9 })).message).toBe(
      'A must be an integer, got "1.5"',
    );
    const err = errorOf(() => readInt({ A: '70000' }, 'A', 0, { min: 0, max: 65535 }));
    expect(err.variable).toBe('A');
    expect(err.message).toBe('A must be between 0 and 65535, got 70000');
  });

  it('read booleans and enums from their documented spellings only', () => {
    expect(readBool({ A: 'Yes' }, 'A', false)).toBe(true);
    expect(readBool({ A: 'off' }, 'A', true)).toBe(false);
    expect(errorOf(() => readBool({ A: 'maybe' }, 'A', false)).message).toMatch(/^A must be true or false/);
    expect(readEnum({ A: 'b' }, 'A', ['a', 'b'], 'a')).toBe('b');
    expect(errorOf(() => readEnum({ A: 'c' }, 'A', ['a', 'b'], 'a')).message).toBe('A must be one of a, b, got "c"');
  });

  it('quote at most 40 characters of a bad value', () => {
    const err = errorOf(() => readInt({ A: 'x'.repeat(1000) }, 'A', 0, { min: 0, max: 1 }));
    expect(err.message.length).toBeLessThan(100);
  });

  it('turn a custom parser error into one naming the variable, once', () => {
    const parse = () => {
      throw new Error('A: bad entry "q"');
    };
    expect(errorOf(() => readWith({ A: 'q' }, 'A', parse)).message).toBe('A is invalid: bad entry "q"');
  });

  it('accept redis:// and rediss:// URLs and never echo a rejected one', () => {
    expect(readRedisUrl({ R: 'rediss://u:p@h:6380/0' }, 'R')).toBe('rediss://u:p@h:6380/0');
    for (const bad of ['not a url with hunter2', 'http://user:hunter2@host:6379']) {
      const err = errorOf(() => readRedisUrl({ R: bad }, 'R'));
      expect(err.variable).toBe('R');
      expect(err.message).not.toContain('hunter2');
    }
  });
});
