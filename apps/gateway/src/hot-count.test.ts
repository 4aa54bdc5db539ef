import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { flushHotCounts, HotCount } from './hot-count.js';

function counter(registry: Registry, name: string, collect?: typeof flushHotCounts) {
  return new Counter({
    name,
    help: name,
    labelNames: ['scope'],
    registers: [registry],
    ...(collect ? { collect } : {}),
  });
}

describe('HotCount', () => {
  it('adds its increments to the counter at each read, per label set, and nothing twice', async () => {
    const registry = new Registry();
    const delivered = counter(registry, 'delivered_total', flushHotCounts);
    const aircraft = new HotCount(delivered, { scope: 'aircraft' });
    const vessels = new HotCount(delivered, { scope: 'vessels' });
    aircraft.inc();
    aircraft.inc(4);
    vessels.inc(2);
    expect(await registry.metrics()).toContain('delivered_total{scope="aircraft"} 5');
    aircraft.inc(3);
    const values = (await delivered.get()).values.map((v) => [v.labels.scope, v.value]);
    expect(values).toEqual([
      ['aircraft', 8],
      ['vessels', 2],
    ]);
    expect(await registry.metrics()).toContain('delivered_total{scope="aircraft"} 8');
  });

  it('is read only through the collect hook: a counter created without it does not see the increments', async () => {
    const registry = new Registry();
    const plain = counter(registry, 'plain_total');
    new HotCount(plain, { scope: 'aircraft' }).inc(7);
    expect(await registry.metrics()).not.toContain('plain_total{scope="aircraft"} 7');
  });
});
