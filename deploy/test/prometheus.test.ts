/**
 * deploy/prometheus checked with promtool (Debian's `prometheus` package), and
 * the alert rules use only the metric catalogue.
 */
import { describe, expect, it } from 'vitest';
import { isKnownSeries, loadYaml, metricNamesIn, readText, runTool, skipWithout } from './support.js';

const rules = loadYaml(readText('deploy/prometheus/rules/hydra.yml')) as {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
};

describe('deploy/prometheus', () => {
  it.skipIf(skipWithout('promtool', 'prometheus'))('passes `promtool check config` (rule files included)', () => {
    const output = runTool('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml'], 'prometheus');
    expect(output).toMatch(/SUCCESS: \d+ rule files? found/);
  });

  it.skipIf(skipWithout('promtool', 'prometheus'))('passes `promtool check rules`', () => {
    runTool('promtool', ['check', 'rules', 'deploy/prometheus/rules/hydra.yml'], 'prometheus');
  });

  it('alerts only on catalogue metrics (and `up`)', () => {
    const exprs = rules.groups.flatMap((g) => g.rules.map((r) => [r.alert ?? r.record, r.expr] as const));
    expect(exprs.length).toBeGreaterThan(0);
    for (const [name, expr] of exprs) {
      const metrics = metricNamesIn(expr);
      expect(metrics.length, `${name} selects no metric`).toBeGreaterThan(0);
      for (const metric of metrics) expect(metric === 'up' || isKnownSeries(metric), `${name}: ${metric}`).toBe(true);
    }
  });
});

describe('metricNamesIn (the PromQL reader the dashboard checks rely on)', () => {
  it('finds selected series and skips functions, labels, ranges and variables', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, scope) (rate(hydra_delivery_latency_seconds_bucket{job="x",le!="+Inf"}[$__rate_interval])))',
      ),
    ).toEqual(['hydra_delivery_latency_seconds_bucket']);
    expect(metricNamesIn('sum(hydra_redis_up) / count(hydra_redis_up) > bool 0.5')).toEqual([
      'hydra_redis_up',
      'hydra_redis_up',
    ]);
    expect(metricNamesIn('rate(hydra_made_up_total[5m]) offset 1h')).toEqual(['hydra_made_up_total']);
    expect(isKnownSeries('hydra_made_up_total')).toBe(false);
    expect(isKnownSeries('hydra_connections_total')).toBe(false);
    expect(isKnownSeries('hydra_snapshot_duration_seconds_count')).toBe(true);
  });
});
