/**
 * The metrics catalogue against reality: a real gateway and a real publisher
 * on a test Redis, driven through every labelled path the catalogue names
 * (an unauthorised upgrade, a bad request, a 429, a delivered event, a
 * key-cache hit and miss, a snapshot, an ingest accept and reject), then both
 * /metrics scraped and compared with the catalogue (docs/metrics.md) both ways, with
 * `promtool check metrics` on each, and every metric the Grafana dashboard
 * and the alert rules select looked up in the scrapes.
 */
import { type Backplane, createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import {
  type GatewayProcess,
  type ServiceProcess,
  StreamClient,
  spawnService,
  startGatewayProcess,
  startRedis,
  type TestRedis,
} from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONTRACT,
  type MetricProcess,
  metricCatalogue,
  metricNamesInDeployFiles,
  PROCESS_METRIC_PREFIXES,
  runTool,
  seriesNamesOf,
  skipWithout,
} from './support.js';

interface Family {
  type: string;
  labels: Set<string>;
  /** Sample lines, as exposed (`name{labels} value`). */
  samples: string[];
}

/** The families of a Prometheus text exposition, from its # TYPE lines and samples. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1]!, { type: type[2]!, labels: new Set(), samples: [] });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? \S+/.exec(line);
    if (!sample) throw new Error(`unparsable exposition line: ${line}`);
    const family =
      families.get(sample[1]!) ?? families.get(sample[1]!.replace(/_(bucket|sum|count)$/, '')) ?? undefined;
    if (!family) throw new Error(`sample without a # TYPE: ${line}`);
    family.samples.push(line);
    for (const [, label] of (sample[2] ?? '').matchAll(/(\w+)="/g)) if (label !== 'le') family.labels.add(label!);
  }
  return families;
}

const TOKEN = 'catalogue-test-token-0123456789';

describe('metrics catalogue (docs/metrics.md) against a real gateway and publisher', () => {
  let redis: TestRedis;
  let backplane: Backplane;
  let gateway: GatewayProcess;
  let publisher: ServiceProcess;
  let publisherPort: number;
  const clients: StreamClient[] = [];
  const scrapes = {} as Record<MetricProcess, string>;
  const families = {} as Record<MetricProcess, Map<string, Family>>;

  const client = (query: string, localAddress: string) => {
    const c = new StreamClient(`${gateway.url}?${query}`, { localAddress });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = await startRedis();
    backplane = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
    const { key } = await backplane.keys.create({ scopes: ['signals', 'aircraft'], name: 'catalogue' });
    gateway = await startGatewayProcess({
      HYDRA_REDIS_URL: redis.url,
      HYDRA_MAX_CONNECTIONS_PER_IP: '1',
      HYDRA_DRAIN_MS: '200',
    });
    publisher = spawnService(CONTRACT.publisherMain, {
      HYDRA_REDIS_URL: redis.url,
      HYDRA_INGEST_TOKEN: TOKEN,
      HYDRA_PUBLISHER_PORT: '0',
    });
    publisherPort = Number((await publisher.waitForLog((l) => l.msg === 'publisher listening')).port);

    const apiKey = `apiKey=${encodeURIComponent(key)}`;
    // A snapshot and a key-cache miss, then a hit from a second address.
    const first = client(apiKey, '127.0.61.1');
    const second = client(apiKey, '127.0.61.2');
    await first.waitFor((m) => m.type === 'snapshot', 2);
    await second.waitFor((m) => m.type === 'snapshot', 2);
    // The per-IP limit is 1: a second client from the same address gets 429.
    expect((await client(apiKey, '127.0.61.2').waitForRefusal()).status).toBe(429);
    // An unknown key (unauthorized: upgraded, told, closed 1008) and a malformed resume (bad_request: 4002).
    expect((await client('apiKey=hydra_k1_not-a-real-key-000000000000000000000000', '127.0.61.3').closed).code).toBe(
      1008,
    );
    expect((await client(`${apiKey}&resume=signals:abc`, '127.0.61.4').closed).code).toBe(4002);
    // One accepted event (delivered to both clients) and one rejected, in one batch.
    const ingest = await fetch(`http://127.0.0.1:${publisherPort}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify([
        { scope: 'aircraft', data: { id: 'catalogue-1', lat: 1, lon: 2 } },
        { scope: 'planes', data: { id: 'x' } },
      ]),
    });
    expect(ingest.status).toBe(400);
    expect(((await ingest.json()) as { accepted: number }).accepted).toBe(1);
    for (const c of [first, second]) await c.waitFor((m) => m.type === 'aircraft');

    scrapes.gateway = await (await fetch(`http://127.0.0.1:${gateway.adminPort}${CONTRACT.metricsPath}`)).text();
    scrapes.publisher = await (await fetch(`http://127.0.0.1:${publisherPort}${CONTRACT.metricsPath}`)).text();
    families.gateway = parseExposition(scrapes.gateway);
    families.publisher = parseExposition(scrapes.publisher);
  });

  afterAll(async () => {
    for (const c of clients) c.terminate();
    await Promise.all([gateway?.stop(), publisher?.stop()]);
    await backplane?.close();
    await redis?.stop();
  });

  it.skipIf(skipWithout('promtool', 'prometheus'))(
    'both expositions pass `promtool check metrics` with no problem at all',
    () => {
      for (const process of ['gateway', 'publisher'] as const) {
        const output = runTool('promtool', ['check', 'metrics'], 'prometheus', scrapes[process]);
        expect(output.trim(), `${process}: promtool problems`).toBe('');
      }
    },
  );

  it('lists exactly the hydra_* families each process exports, with their types and labels', () => {
    const catalogue = metricCatalogue();
    for (const process of ['gateway', 'publisher'] as const) {
      const documented = catalogue.filter((m) => m.processes.includes(process));
      const exported = [...families[process].keys()].filter(
        (name) => name.startsWith('hydra_') && !PROCESS_METRIC_PREFIXES.some((p) => name.startsWith(p)),
      );
      expect(exported.sort(), `${process}: exported but not in docs/metrics.md (or the other way)`).toEqual(
        documented.map((m) => m.name).sort(),
      );
      for (const entry of documented) {
        const family = families[process].get(entry.name)!;
        expect(family.type, `${entry.name} type`).toBe(entry.type);
        // Labels are known from samples only: a labelled family without any sample yet is not checked here.
        if (family.samples.length > 0) expect([...family.labels].sort(), `${entry.name} labels`).toEqual(entry.labels);
      }
    }
    // The process metrics are there, under the documented prefixes.
    expect(families.gateway.has('hydra_gateway_process_resident_memory_bytes')).toBe(true);
    expect(families.publisher.has('hydra_publisher_process_resident_memory_bytes')).toBe(true);
  });

  it('has every metric the Grafana dashboard and the alert rules select', () => {
    const exported = new Set(
      (['gateway', 'publisher'] as const).flatMap((p) =>
        [...families[p]].flatMap(([name, family]) => seriesNamesOf(name, family.type)),
      ),
    );
    const used = metricNamesInDeployFiles();
    expect(used.size).toBeGreaterThan(5);
    for (const [name, file] of used) expect(exported.has(name), `${file}: ${name} is not exported`).toBe(true);
  });

  it('carries the labelled series the traffic produced', () => {
    const gw = scrapes.gateway;
    for (const reason of ['unauthorized', 'bad_request', 'ip_limit']) {
      expect(gw).toMatch(new RegExp(`^hydra_connections_rejected_total\\{reason="${reason}"\\} [1-9]`, 'm'));
    }
    expect(gw).toMatch(/^hydra_key_cache_lookups_total\{result="miss"\} [1-9]/m);
    expect(gw).toMatch(/^hydra_key_cache_lookups_total\{result="hit"\} [1-9]/m);
    expect(gw).toMatch(/^hydra_snapshot_bytes_count\{scope="aircraft"\} [1-9]/m);
    expect(gw).toMatch(/^hydra_snapshots_sent_total\{scope="signals"\} [1-9]/m);
    expect(gw).toMatch(/^hydra_messages_delivered_total\{scope="aircraft"\} 2$/m);
    expect(gw).toMatch(/^hydra_delivery_latency_seconds_count [1-9]/m);
    expect(gw).toMatch(/^hydra_redis_reconnects_total\{connection="subscriber"\} 0$/m);
    const pub = scrapes.publisher;
    expect(pub).toMatch(/^hydra_ingest_events_total\{scope="aircraft",result="accepted"\} 1$/m);
    expect(pub).toMatch(/^hydra_ingest_events_total\{scope="unknown",result="rejected"\} 1$/m);
    expect(pub).toMatch(/^hydra_redis_errors_total\{connection="command"\} 0$/m);
  });
});
