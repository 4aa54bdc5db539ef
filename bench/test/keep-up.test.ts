import { parseIngestBody, type Scope } from '@hydra/protocol';
import { describe, expect, it } from 'vitest';
import { memoryFigures, metricSum, parsePrometheus, type Sample } from '../src/gateway-probe.js';
import { floodBatch } from '../src/keep-up.js';
import { parseKeepUpArgs } from '../src/keep-up-options.js';

const MiB = 2 ** 20;

/** One sample every 200 ms over `seconds`, valued by `at(s)` (MiB). */
function samples(seconds: number, at: (s: number) => number): Sample[] {
  return Array.from({ length: seconds * 5 + 1 }, (_, i) => ({ atMs: i * 200, value: at(i / 5) * MiB }));
}

describe('the keep-up mode', () => {
  it('floods with batches the ingest server takes whole: 500 aircraft, 499 vessels, one quiet cyber event', () => {
    const quietIds = new Set<string>();
    for (const [k, lane] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [19, 2],
      [20, 2],
    ] as const) {
      const parsed = parseIngestBody(floodBatch(k, lane), 'application/x-ndjson');
      if (parsed.kind !== 'batch') throw new Error(parsed.reason);
      expect(parsed.results.filter((r) => !r.ok)).toEqual([]);
      const perScope = new Map<Scope, Set<string>>();
      for (const r of parsed.results) {
        if (!r.ok) continue;
        const ids = perScope.get(r.event.scope) ?? new Set<string>();
        ids.add(String((r.event.data as { id: string }).id));
        perScope.set(r.event.scope, ids);
      }
      expect([...perScope.keys()].sort()).toEqual(['aircraft', 'cyber', 'vessels']);
      // Distinct entities per scope per batch: every event is a state change the gateway must follow.
      expect(perScope.get('aircraft')?.size).toBe(500);
      expect(perScope.get('vessels')?.size).toBe(499);
      for (const id of perScope.get('cyber') ?? []) quietIds.add(id);
    }
    // A repeated log id would be answered as a duplicate and never published: the quiet scope would go silent.
    expect(quietIds.size).toBe(5);
  });

  it('takes its options and refuses what it does not know', () => {
    expect(parseKeepUpArgs(['--keep-up'])).toMatchObject({ seconds: 120, clients: 1000, trickleRate: 10 });
    expect(
      parseKeepUpArgs(['--keep-up', '--keep-up-seconds', '20', '--phases', 'no-clients', '--in-flight', '8']),
    ).toMatchObject({ seconds: 20, phases: ['no-clients'], inFlight: 8 });
    expect(() => parseKeepUpArgs(['--keep-up', '--phases', 'both'])).toThrow(/--phases/);
    expect(() => parseKeepUpArgs(['--keep-up', '--keep-up-seconds', '1'])).toThrow(/--keep-up-seconds/);
    expect(() => parseKeepUpArgs(['--keep-up', '--ingest-seconds', '5'])).toThrow(/unknown argument/);
    expect(parseKeepUpArgs(['--keep-up', '--gateway-main', 'apps/gateway/.before/main.js']).gatewayMain).toBe(
      'apps/gateway/.before/main.js',
    );
  });

  it('calls memory bounded when it settles and then saws between GCs, whatever the first third did', () => {
    // Ramps 80 → 105 MiB over 15 s (V8 sizing itself to the load), then a 6 MiB sawtooth with one spike of 7.
    const m = memoryFigures(
      samples(60, (s) => (s < 15 ? 80 + (25 * s) / 15 : 100 + ((s * 5) % 6) + (s > 50 && s < 51 ? 7 : 0))),
      0,
      60_000,
    );
    expect(m.start / MiB).toBe(80);
    expect(m.bounded).toBe(true);
    expect(m.growth).toBeLessThanOrEqual(m.tolerance);
  });

  it('calls memory that grows with the duration of the load grown, even in its sawtooth', () => {
    // 0.5 MiB/s kept (a buffer per event), under the same sawtooth: +10 MiB from the middle third to the last.
    const m = memoryFigures(
      samples(60, (s) => 80 + 0.5 * s + ((s * 5) % 6)),
      0,
      60_000,
    );
    expect(m.bounded).toBe(false);
    expect(m.growth / MiB).toBeGreaterThan(8);
    expect(m.peak).toBe(m.lastPeak);
  });

  it("reads the gateway's /metrics as prom-client writes it", () => {
    const text = [
      '# HELP hydra_bus_events_received_total Events received.',
      '# TYPE hydra_bus_events_received_total counter',
      'hydra_bus_events_received_total{scope="aircraft"} 1500',
      'hydra_bus_events_received_total{scope="vessels"} 1499',
      'hydra_bus_events_received_total{scope="alerts"} 7',
      'hydra_gateway_nodejs_eventloop_lag_p99_seconds 0.051183',
      'hydra_gateway_nodejs_heap_size_used_bytes 12345678',
      '',
    ].join('\n');
    const m = parsePrometheus(text);
    expect(metricSum(m, 'hydra_bus_events_received_total')).toBe(3006);
    expect(metricSum(m, 'hydra_bus_events_received_total', ['scope="vessels"'])).toBe(1499);
    expect(metricSum(m, 'hydra_gateway_nodejs_eventloop_lag_p99_seconds')).toBeCloseTo(0.051183);
    // A metric whose name only starts like another is not summed with it.
    expect(metricSum(m, 'hydra_bus_events_received')).toBe(0);
  });
});
