import { join } from 'node:path';
import { coverBoxes, type IngestEvent, tileOf } from '@hydra/protocol';
import { freePort, type GatewayProcess, launchChromium, StreamFixture, skipWithoutChromium } from '@hydra/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bounds, bboxOf } from '../src/page/view-filter.js';
import { artifactsDir, consoleUrl, locate, readScopes, SCOPES, testIdText, waitForState } from './console-page.js';

type Position = { lat: number; lon: number };

/** Ten aircraft and five vessels over western Europe; twenty aircraft and ten vessels far from it. */
const EUROPE_AIRCRAFT = Array.from({ length: 10 }, (_, i): Position => ({ lat: 45 + i * 0.6, lon: 2 + i * 0.9 }));
const OTHER_AIRCRAFT = Array.from({ length: 20 }, (_, i): Position => ({ lat: -30 + i * 3, lon: -120 + i * 12 }));
const EUROPE_VESSELS = Array.from({ length: 5 }, (_, i): Position => ({ lat: 53 + i * 0.7, lon: 1 + i }));
const OTHER_VESSELS = Array.from({ length: 10 }, (_, i): Position => ({ lat: -40 + i * 2, lon: 60 + i * 5 }));

const aircraft = (id: string, at: Position): IngestEvent => ({
  scope: 'aircraft',
  data: { id, icao24: id, callsign: id.toUpperCase(), ...at, trackDeg: 90 },
});
const vessel = (id: string, at: Position): IngestEvent => ({
  scope: 'vessels',
  data: { id, mmsi: id, name: id.toUpperCase(), ...at, cogDeg: 0 },
});

/** What the gateway's /metrics says (the series as exposed, `name{labels}`); NaN when absent. */
async function scrape(gw: GatewayProcess): Promise<(series: string) => number> {
  const text = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
  return (series) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
  };
}
const OPTIONS = ['conflate', 'bbox'] as const;
/** The gateway's open connections with a tier and with a region. */
const byOption = async (gw: GatewayProcess) => {
  const m = await scrape(gw);
  return Object.fromEntries(OPTIONS.map((o) => [o, m(`hydra_connections_by_option{option="${o}"}`)]));
};

/** The mode the page shows, and a region's area. */
async function modeOf(page: Page): Promise<{ mode: string; text: string; area: Bounds | null }> {
  const node = page.locator('[data-testid="mode"]');
  const area = (await node.getAttribute('data-area')) ?? '';
  const [west, south, east, north] = area.split(',').map(Number);
  return {
    mode: (await node.getAttribute('data-mode')) ?? '',
    text: await node.innerText(),
    area: area === '' ? null : { west: west!, south: south!, east: east!, north: north! },
  };
}

const waitForMode = (page: Page, mode: string) =>
  page.waitForFunction((m) => document.querySelector('[data-testid="mode"]')?.getAttribute('data-mode') === m, mode);

/** Waits until the page's count of `scope` is `n`. */
const waitForCount = (page: Page, scope: string, n: number) =>
  page.waitForFunction(
    ([s, count]) => document.querySelector(`[data-testid="count-${s}"]`)?.textContent === String(count),
    [scope, n] as const,
  );

/**
 * The console's zoom against a real gateway (HYDRA_CONSOLE=true) on a real
 * Redis, in headless Chromium: the world view asks the 5 s tier, zooming in
 * on Europe switches the stream to a `bbox` region (resumed: no snapshot)
 * holding exactly the region's entities, entities leave and enter it, and
 * zooming out takes the tier again with a fresh snapshot of everything. What
 * the gateway sees is read from its /metrics.
 */
describe.skipIf(skipWithoutChromium())('the console zoomed in and out', () => {
  let f: StreamFixture;
  let browser: Browser;
  let page: Page;
  let gw: GatewayProcess;
  let port: number;
  /** The log's positions by id, per entity scope. */
  const positions = { aircraft: new Map<string, Position>(), vessels: new Map<string, Position>() };
  const publish = async (events: IngestEvent[]) => {
    for (const e of events) positions[e.scope as 'aircraft' | 'vessels'].set(String(e.data.id), e.data as Position);
    await f.backplane.bus.publish(events);
  };
  /** The ids a region's connection holds: those whose position is in the tiles of its box. */
  const inArea = (scope: 'aircraft' | 'vessels', area: Bounds) => {
    const tiles = new Set(coverBoxes([bboxOf(area)]));
    return [...positions[scope]].filter(([, p]) => tiles.has(tileOf(p.lat, p.lon))).map(([id]) => id);
  };

  beforeAll(async () => {
    f = await StreamFixture.start();
    port = await freePort();
    const [gateway, chromium, key] = await Promise.all([
      f.gateway({ HYDRA_PORT: String(port), HYDRA_CONSOLE: 'true', HYDRA_PING_INTERVAL_MS: '1000' }),
      launchChromium(),
      f.key([...SCOPES]),
    ]);
    gw = gateway;
    browser = chromium;
    await publish([
      ...EUROPE_AIRCRAFT.map((p, i) => aircraft(`eu${i}`, p)),
      ...OTHER_AIRCRAFT.map((p, i) => aircraft(`x${i}`, p)),
      ...EUROPE_VESSELS.map((p, i) => vessel(`veu${i}`, p)),
      ...OTHER_VESSELS.map((p, i) => vessel(`vx${i}`, p)),
    ]);
    await f.publish('alerts', { identifier: 'al-0', event: 'Test', severity: 'Minor', headline: 'first' });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(consoleUrl(port, key.key));
  });
  afterAll(async () => {
    await browser?.close();
    await f?.stop();
  });

  it('opens on the world with the 5 s tier: the gateway sees a conflated connection, the map every entity', async () => {
    await waitForState(page, 'open');
    expect(await modeOf(page)).toEqual({ mode: 'tier', text: '5 s tier', area: null });
    await waitForCount(page, 'aircraft', 30);
    await waitForCount(page, 'vessels', 15);
    await expect.poll(() => testIdText(page, 'markers')).toBe('45');
    expect(await byOption(gw)).toEqual({ conflate: 1, bbox: 0 });
  });

  it('zoomed in on Europe: a bbox region, resumed without a snapshot, holding exactly its entities', async () => {
    const before = await scrape(gw);
    const at = (await locate(page, 'aircraft', 'eu5'))!;
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.move(box.x + at.x, box.y + at.y);
    for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -350); // about ×2 each
    await waitForMode(page, 'region');
    const { text, area } = await modeOf(page);
    expect(text).toMatch(/^region \d+°×\d+°$/);
    // The region covers what the map shows, on the gateway's tile lines, within its tile limit.
    const visible = (await page.evaluate(() =>
      (window as unknown as { hydraConsole: { visible: () => Bounds } }).hydraConsole.visible(),
    )) as Bounds;
    expect(area!.west <= visible.west && area!.east >= visible.east).toBe(true);
    expect(area!.south <= visible.south && area!.north >= visible.north).toBe(true);
    const tiles = coverBoxes([bboxOf(area!)]);
    expect(tiles.length).toBeLessThanOrEqual(1024);

    const expectedAircraft = inArea('aircraft', area!);
    const expectedVessels = inArea('vessels', area!);
    expect(expectedAircraft.length).toBeGreaterThanOrEqual(10); // Europe's, at least
    expect(expectedAircraft.length).toBeLessThan(30); // not the world's
    await waitForCount(page, 'aircraft', expectedAircraft.length);
    await waitForCount(page, 'vessels', expectedVessels.length);
    for (const id of expectedAircraft) expect(await locate(page, 'aircraft', id), id).not.toBeNull();
    expect(await locate(page, 'aircraft', 'x0')).toBeNull();

    // What the gateway sees: the tier's connection is gone, a region's is open on the region's tiles.
    await expect.poll(() => byOption(gw), { timeout: 10_000 }).toEqual({ conflate: 0, bbox: 1 });
    const after = await scrape(gw);
    expect(after('hydra_region_tile_topics{scope="aircraft"}')).toBe(tiles.length);
    // Resumed (every scope), so no new snapshot of any scope.
    expect(after('hydra_resumes_total{outcome="ok"}') - (before('hydra_resumes_total{outcome="ok"}') || 0)).toBe(
      SCOPES.length,
    );
    for (const scope of SCOPES) {
      expect(after(`hydra_snapshots_sent_total{scope="${scope}"}`), scope).toBe(
        before(`hydra_snapshots_sent_total{scope="${scope}"}`),
      );
    }
    expect(await testIdText(page, 'status-log')).toMatch(/view: region \d+°×\d+° \(resumed\)/);
  });

  it('in the region: one leaving is removed (left_area), one entering appears, log scopes stay whole', async () => {
    const { area } = await modeOf(page);
    const alerts = (await readScopes(page)).alerts.count;
    await publish([aircraft('eu0', { lat: -30, lon: 150 }), aircraft('x0', { lat: 48.5, lon: 6.5 })]);
    await f.publish('alerts', { identifier: 'al-1', event: 'Test', severity: 'Severe', headline: 'far away' });
    await expect.poll(() => locate(page, 'aircraft', 'eu0'), { timeout: 10_000 }).toBeNull();
    await expect.poll(() => locate(page, 'aircraft', 'x0'), { timeout: 10_000 }).not.toBeNull();
    await waitForCount(page, 'aircraft', inArea('aircraft', area!).length);
    await waitForCount(page, 'alerts', alerts + 1);
    await page.screenshot({ path: join(artifactsDir(), 'zoomed-region.png') });
  });

  it('zoomed out: the tier again, with a fresh snapshot of the entity scopes holding every entity', async () => {
    const before = await scrape(gw);
    await page.locator('#zoom-world').click();
    await waitForMode(page, 'tier');
    await waitForCount(page, 'aircraft', 30);
    await waitForCount(page, 'vessels', 15);
    await expect.poll(() => testIdText(page, 'markers')).toBe('45');
    await expect.poll(() => byOption(gw), { timeout: 10_000 }).toEqual({ conflate: 1, bbox: 0 });
    const after = await scrape(gw);
    expect(after('hydra_region_tile_topics{scope="aircraft"}')).toBe(0);
    for (const scope of ['aircraft', 'vessels']) {
      expect(after(`hydra_snapshots_sent_total{scope="${scope}"}`), scope).toBe(
        before(`hydra_snapshots_sent_total{scope="${scope}"}`) + 1,
      );
    }
    expect(after('hydra_snapshots_sent_total{scope="alerts"}')).toBe(
      before('hydra_snapshots_sent_total{scope="alerts"}'),
    );
    expect(await testIdText(page, 'status-log')).toMatch(/view: 5 s tier \(fresh snapshot\)/);
  });
});
