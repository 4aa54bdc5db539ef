import { describe, expect, it } from 'vitest';
import { AlertIssuer, alertHeadline } from './alerts.js';
import { Prng } from './prng.js';

/** The first word repeated right after itself ("warning warning"), case-insensitively, or null. */
function doubledWord(text: string): string | null {
  return /\b(\w+)\s+\1\b/i.exec(text)?.[1] ?? null;
}

describe('alert headlines', () => {
  it('never repeat a word, for every event, area and message type the issuer produces', () => {
    const issuer = new AlertIssuer();
    const rng = new Prng(7);
    const headlines = new Set<string>();
    for (let i = 0; i < 20_000; i++)
      headlines.add(issuer.next(rng, 1_700_000_000_000 + i * 60_000)['headline'] as string);
    // Every template, including "Navigational warning", and cancellations were drawn.
    expect([...headlines].some((h) => /^\w+ navigational warning for /.test(h))).toBe(true);
    expect([...headlines].some((h) => /^Navigational warning for .+ cancelled$/.test(h))).toBe(true);
    expect([...headlines].filter((h) => doubledWord(h) !== null)).toEqual([]);
  });

  it('adds "warning" only to an event that does not already end with it', () => {
    expect(alertHeadline('Navigational warning', 'Liverpool Bay coast', 'Moderate')).toBe(
      'Moderate navigational warning for Liverpool Bay coast',
    );
    expect(alertHeadline('Navigational warning', 'Liverpool Bay coast', null)).toBe(
      'Navigational warning for Liverpool Bay coast cancelled',
    );
    expect(alertHeadline('Wind', 'Attica', 'Severe')).toBe('Severe wind warning for Attica');
    expect(alertHeadline('Wind', 'Attica', null)).toBe('Wind warning for Attica cancelled');
  });
});
