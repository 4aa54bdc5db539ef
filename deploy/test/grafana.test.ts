/**
 * The provisioned Grafana dashboard: parses, covers the panels operators need,
 * and queries only the metric catalogue through the provisioned data source.
 */
import { describe, expect, it } from 'vitest';
import { isKnownSeries, loadYaml, metricNamesIn, readText } from './support.js';

interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}

const dashboard = JSON.parse(readText('deploy/grafana/dashboards/hydra.json')) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query?: string; current?: { value?: string } }[] };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title ?? '?', expr: t.expr ?? '' })));
const allExprs = exprs.map((e) => e.expr).join('\n');

const datasources = loadYaml(readText('deploy/grafana/provisioning/datasources/prometheus.yml')) as {
  datasources: { uid: string; type: string; url: string }[];
};
const providers = loadYaml(readText('deploy/grafana/provisioning/dashboards/hydra.yml')) as {
  providers: { type: string; options: { path: string } }[];
};

describe('deploy/grafana', () => {
  it('has a dashboard with a uid, a title and uniquely numbered, placed panels', () => {
    expect(dashboard.uid).toBeTruthy();
    expect(dashboard.title).toBeTruthy();
    expect(panels.length).toBeGreaterThan(5);
    const ids = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos, p.title).toBeDefined();
      expect(p.targets?.length, `${p.title} has no query`).toBeGreaterThan(0);
    }
  });

  it('queries only metrics of the catalogue', () => {
    for (const { panel, expr } of exprs) {
      const metrics = metricNamesIn(expr);
      expect(metrics.length, `${panel}: "${expr}" selects no metric`).toBeGreaterThan(0);
      for (const metric of metrics) expect(isKnownSeries(metric), `${panel}: unknown metric ${metric}`).toBe(true);
    }
  });

  it('covers connections, delivery per scope, latency p50/p99, rejections, Redis health and slow consumers', () => {
    expect(allExprs).toMatch(/\bhydra_connections\b(?!_)/);
    expect(allExprs).toMatch(/sum by \(scope\) \(rate\(hydra_messages_delivered_total/);
    expect(allExprs).toMatch(/histogram_quantile\(0\.5, [^\n]*hydra_delivery_latency_seconds_bucket/);
    expect(allExprs).toMatch(/histogram_quantile\(0\.99, [^\n]*hydra_delivery_latency_seconds_bucket/);
    expect(allExprs).toMatch(/by \(reason\) \(rate\(hydra_connections_rejected_total/);
    expect(allExprs).toMatch(/hydra_redis_up/);
    expect(allExprs).toMatch(/hydra_slow_consumer_closes_total/);
  });

  it('uses the provisioned Prometheus data source', () => {
    const uids = new Set(datasources.datasources.map((d) => d.uid));
    expect(datasources.datasources.find((d) => d.type === 'prometheus')?.url).toBe('http://prometheus:9090');
    const variables = new Map((dashboard.templating?.list ?? []).map((v) => [`\${${v.name}}`, v]));
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        const uid = t.datasource?.uid ?? '';
        const variable = variables.get(uid);
        if (variable) {
          expect(variable.type).toBe('datasource');
          expect(variable.query).toBe('prometheus');
          expect(uids.has(variable.current?.value ?? '')).toBe(true);
        } else {
          expect(uids.has(uid), `${p.title}: data source ${uid}`).toBe(true);
        }
      }
    }
  });

  it('provisions dashboards from the directory docker-compose mounts', () => {
    expect(providers.providers[0]?.type).toBe('file');
    expect(providers.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards');
  });
});
