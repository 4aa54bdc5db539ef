import { describe, expect, it } from 'vitest';
import { closedForSilence, marginFor, nativePingPlan } from './native-pings.js';

describe('nativePingPlan', () => {
  it('pings every largest multiple of 4 s not above the interval, with the longest margin uWS allows', () => {
    expect(nativePingPlan(15_000)).toEqual({ idleTimeoutSeconds: 20, pingEverySeconds: 12, marginSeconds: 8 });
    expect(nativePingPlan(8000)).toEqual({ idleTimeoutSeconds: 16, pingEverySeconds: 8, marginSeconds: 8 });
    expect(nativePingPlan(11_999)).toEqual({ idleTimeoutSeconds: 16, pingEverySeconds: 8, marginSeconds: 8 });
    expect(nativePingPlan(16_000)).toEqual({ idleTimeoutSeconds: 32, pingEverySeconds: 16, marginSeconds: 16 });
    expect(nativePingPlan(600_000)).toEqual({ idleTimeoutSeconds: 616, pingEverySeconds: 600, marginSeconds: 16 });
  });

  it('has no plan under 8 s, which uWS cannot time (the gateway pings itself)', () => {
    expect(nativePingPlan(7999)).toBeNull();
    expect(nativePingPlan(300)).toBeNull();
  });

  it('agrees with uWS on every interval it accepts: idleTimeout − margin is the ping wait, within 960 s', () => {
    for (let ms = 8000; ms <= 600_000; ms += 1000) {
      const plan = nativePingPlan(ms);
      expect(plan).not.toBeNull();
      if (!plan) continue;
      expect(plan.idleTimeoutSeconds - marginFor(plan.idleTimeoutSeconds)).toBe(plan.pingEverySeconds);
      expect(plan.pingEverySeconds * 1000).toBeLessThanOrEqual(ms);
      expect(plan.pingEverySeconds * 1000).toBeGreaterThan(ms - 4000);
      expect(plan.idleTimeoutSeconds).toBeLessThanOrEqual(960);
    }
  });
});

describe('closedForSilence', () => {
  const reason = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;
  it('is uWS closing a socket for silence after its ping, and nothing else', () => {
    expect(closedForSilence(1006, reason('WebSocket timed out from inactivity'))).toBe(true);
    expect(closedForSilence(1006, reason(''))).toBe(false);
    expect(closedForSilence(1006, undefined)).toBe(false);
    expect(closedForSilence(1000, reason('WebSocket timed out from inactivity'))).toBe(false);
  });
});
