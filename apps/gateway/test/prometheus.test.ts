import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coverBoxes } from '@hydra/protocol';
import {
  freePort,
  type GatewayProcess,
  requireTool,
  type StreamClient,
  StreamFixture,
  skipWithout,
  withKey,
} from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** One sample of the exposition (`name{labels}` exactly as exposed), or NaN when absent. */
const sampleOf = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
};

/**
 * The gateway's /metrics as Prometheus itself sees it: `promtool check
 * metrics` on the real exposition after traffic, and a real Prometheus
 * (Debian's `prometheus` package) scraping a running gateway on loopback.
 */
const PROMETHEUS = 'prometheus';

describe('Prometheus exposition', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;
  let key: string;
  const held: StreamClient[] = [];

  beforeAll(async () => {
    f = await StreamFixture.start();
    key = (await f.key(['signals', 'aircraft'])).key;
    gw = await f.gateway({ HYDRA_MAX_CONNECTIONS_PER_IP: '2' });
    // Traffic that touches every label set: snapshots, live events, a refusal, an unauthorised client.
    for (let i = 0; i < 2; i++) {
      const c = f.client(withKey(gw.url, key), { localAddress: '127.0.45.1' });
      await c.waitFor((m) => m.type === 'snapshot', 2);
      held.push(c);
    }
    expect((await f.client(withKey(gw.url, key), { localAddress: '127.0.45.1' }).waitForRefusal()).status).toBe(429);
    await f.client(withKey(gw.url, 'hydra_k1_not-a-real-key-000000000000000000000000')).closed;
    await f.publish('signals', { kind: 'rf', label: 'scrape me' });
    await f.publish('aircraft', { id: 'a1', lat: 1, lon: 2 });
    for (const c of held) await c.waitFor((m) => m.type === 'aircraft');
  });
  afterAll(async () => {
    await f?.stop();
  });

  // Skipped only outside CI when the tool is missing; under CI=true a missing tool fails.
  it.skipIf(skipWithout('promtool', 'prometheus'))(
    'passes `promtool check metrics` with no problem at all',
    async () => {
      requireTool('promtool', 'prometheus');
      const text = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
      expect(text).toMatch(/^hydra_connections 2$/m);
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(`${lint.stdout}${lint.stderr}`.trim(), 'promtool problems').toBe('');
      expect(lint.status).toBe(0);
    },
  );

  it.skipIf(skipWithout(PROMETHEUS, 'prometheus'))(
    'is scraped by a real Prometheus, which reads the series back',
    async () => {
      requireTool(PROMETHEUS, 'prometheus');
      const dir = mkdtempSync(join(tmpdir(), 'hydra-prometheus-'));
      const port = await freePort();
      const config = join(dir, 'prometheus.yml');
      writeFileSync(
        config,
        [
          'global:',
          '  scrape_interval: 1s',
          '  evaluation_interval: 1s',
          'scrape_configs:',
          '  - job_name: hydra-gateway',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${gw.adminPort}']`,
          '',
        ].join('\n'),
      );
      const prometheus: ChildProcess = spawn(
        PROMETHEUS,
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      prometheus.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      const exited = new Promise<void>((resolve) => prometheus.once('exit', () => resolve()));
      const api = `http://127.0.0.1:${port}/api/v1`;
      /** Polls an instant query until `accept` holds on its first sample's value; bounded. */
      const until = async (query: string, accept: (value: string) => boolean): Promise<string> => {
        const deadline = performance.now() + 30_000;
        let last = 'no answer';
        while (performance.now() < deadline) {
          if (prometheus.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
          try {
            const res = await fetch(`${api}/query?query=${encodeURIComponent(query)}`);
            const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
            const value = body.data?.result?.[0]?.value[1];
            if (value !== undefined && accept(value)) return value;
            last = JSON.stringify(body);
          } catch (err) {
            last = String(err); // not listening yet
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        throw new Error(`timed out on ${query}: ${last}; prometheus stderr: ${stderr}`);
      };
      try {
        expect(await until('up{job="hydra-gateway"}', (v) => v === '1')).toBe('1');
        expect(await until('hydra_connections{job="hydra-gateway"}', (v) => v === '2')).toBe('2');
        expect(
          Number(await until('hydra_messages_delivered_total{job="hydra-gateway",scope="aircraft"}', (v) => v !== '0')),
        ).toBe(2);
        expect(await until('hydra_connections_rejected_total{reason="ip_limit"}', (v) => v === '1')).toBe('1');
        // The target is healthy from Prometheus's side too (no scrape errors).
        const targets = (await (await fetch(`${api}/targets`)).json()) as {
          data: { activeTargets: { health: string; lastError: string; labels: { job: string } }[] };
        };
        const target = targets.data.activeTargets.find((t) => t.labels.job === 'hydra-gateway');
        expect(target).toMatchObject({ health: 'up', lastError: '' });
      } finally {
        prometheus.kill('SIGTERM');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('counts the opt-in options, conflation flushes and region tiles as the traffic changes them', async () => {
    const scrape = async () => (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
    const byOption = (text: string, option: string) =>
      sampleOf(text, `hydra_connections_by_option{option="${option}"}`);
    const tileTopics = (text: string) => sampleOf(text, 'hydra_region_tile_topics{scope="aircraft"}');
    const tilePublishes = (text: string, kind: string) =>
      sampleOf(text, `hydra_region_tile_publishes_total{scope="aircraft",kind="${kind}"}`);
    const tier = 'scope="aircraft",tier="1000"';
    const before = await scrape();
    for (const option of ['scopes', 'conflate', 'bbox']) expect(byOption(before, option)).toBe(0);
    expect(tileTopics(before)).toBe(0);
    expect(sampleOf(before, `hydra_conflation_flushes_total{${tier}}`)).toBe(0);

    // Other source addresses: the held clients use the per-IP limit of 127.0.45.1.
    const conflated = f.client(withKey(gw.url, key, '&conflate=1000'), { localAddress: '127.0.45.2' });
    const region = f.client(withKey(gw.url, key, '&scopes=aircraft&bbox=0,0,3,3'), { localAddress: '127.0.45.3' });
    await conflated.waitFor((m) => m.type === 'snapshot', 2);
    await region.waitFor((m) => m.type === 'snapshot');
    // The entity enters the box's tiles, then leaves them (a left_area to the tile it left).
    await f.publish('aircraft', { id: 'mover', lat: 1, lon: 1 });
    await f.publish('aircraft', { id: 'mover', lat: 10, lon: 10 });
    await region.waitFor((m) => m.type === 'aircraft' && (m.data as { reason?: string }).reason === 'left_area');
    await conflated.waitFor((m) => m.type === 'aircraft' && (m.data as { id?: string }).id === 'mover');

    const during = await scrape();
    expect(byOption(during, 'conflate')).toBe(1);
    expect(byOption(during, 'bbox')).toBe(1);
    expect(byOption(during, 'scopes')).toBe(1);
    expect(tileTopics(during)).toBe(coverBoxes([{ minLon: 0, minLat: 0, maxLon: 3, maxLat: 3 }]).length);
    expect(tilePublishes(during, 'event')).toBe(1);
    expect(tilePublishes(during, 'left_area')).toBe(1);
    expect(sampleOf(during, `hydra_conflation_flushes_total{${tier}}`)).toBeGreaterThanOrEqual(1);
    // The mover's two events make one entity in the flush that carried them (earlier flushes: none had it).
    expect(sampleOf(during, `hydra_conflation_entities_flushed_total{${tier}}`)).toBeGreaterThanOrEqual(1);
    expect(sampleOf(during, `hydra_conflation_entities_flushed_total{${tier}}`)).toBeLessThan(
      sampleOf(during, 'hydra_bus_events_received_total{scope="aircraft"}'),
    );

    conflated.terminate();
    region.terminate();
    // The closes reach the gateway asynchronously: poll until the gauges are back (bounded by the test's timeout).
    await expect
      .poll(async () => {
        const after = await scrape();
        return [byOption(after, 'conflate'), byOption(after, 'bbox'), byOption(after, 'scopes'), tileTopics(after)];
      })
      .toEqual([0, 0, 0, 0]);
  });
});
