import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './metrics.js';

const sample = async (metrics: GatewayMetrics, name: string) =>
  (await metrics.registry.getSingleMetricAsString(name)).split('\n').find((line) => line.startsWith(`${name} `));

describe('hydra_bus_silent_resubscribes_total', () => {
  it('is exported at 0 before the bus has a source', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    expect(await sample(metrics, 'hydra_bus_silent_resubscribes_total')).toBe('hydra_bus_silent_resubscribes_total 0');
  });

  it("follows the bus' own count from the moment it is wired: each scrape adds what it grew by", async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    let count = 3; // counted before this gateway existed: not this gateway's
    metrics.followSilentResubscribes(() => count);
    expect(await sample(metrics, 'hydra_bus_silent_resubscribes_total')).toBe('hydra_bus_silent_resubscribes_total 0');
    count = 5;
    expect(await sample(metrics, 'hydra_bus_silent_resubscribes_total')).toBe('hydra_bus_silent_resubscribes_total 2');
    expect(await sample(metrics, 'hydra_bus_silent_resubscribes_total')).toBe('hydra_bus_silent_resubscribes_total 2');
    count = 6;
    expect((await metrics.registry.metrics()).includes('hydra_bus_silent_resubscribes_total 3')).toBe(true);
  });
});
