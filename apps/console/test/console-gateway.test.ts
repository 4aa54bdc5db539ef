import { join } from 'node:path';
import type { IngestEvent } from '@hydra/protocol';
import {
  freePort,
  type GatewayProcess,
  launchChromium,
  StreamFixture,
  skipWithoutChromium,
  withKey,
} from '@hydra/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactsDir,
  consoleUrl,
  locate,
  PlainCounts,
  readScopes,
  SCOPES,
  testIdText,
  waitForMarkers,
  waitForState,
} from './console-page.js';

const AIRCRAFT = 30;
const allSnapshots = (counts: PlainCounts): boolean => {
  counts.update();
  return counts.snapshots.size === SCOPES.length;
};
const VESSELS = 20;
const SEVERITIES = ['Minor', 'Moderate', 'Severe', 'Extreme'];

const aircraft = (i: number, lon = -120 + i * 8): IngestEvent => ({
  scope: 'aircraft',
  data: { id: `a${i}`, icao24: `a${i}`, callsign: `TEST${i}`, lat: 40 - i, lon, altBaroFt: 30_000, trackDeg: i * 12 },
});
const vessel = (i: number): IngestEvent => ({
  scope: 'vessels',
  data: {
    id: `v${i}`,
    mmsi: `2440000${i}`,
    name: `SHIP ${i}`,
    lat: -20 + i,
    lon: 60 - i * 5,
    sogKt: 12,
    cogDeg: i * 18,
  },
});
const alert = (i: number, severity = SEVERITIES[i % 4]): IngestEvent => ({
  scope: 'alerts',
  data: { identifier: `al-${i}`, event: 'Test', severity, headline: `Alert number ${i}`, urgency: 'Expected' },
});

/**
 * The console served by a real gateway process (HYDRA_CONSOLE=true) on a
 * real Redis, in headless Chromium: the page's counts are those of a plain
 * WebSocket client's snapshots, it follows live events (a move, a removal,
 * a new alert), survives a gateway restart without duplicating an entity,
 * and shows a revoked key's refusal.
 */
describe.skipIf(skipWithoutChromium())('the web console on a gateway', () => {
  let f: StreamFixture;
  let browser: Browser;
  let page: Page;
  let gw: GatewayProcess;
  let port: number;
  let key: { id: string; key: string };
  const env = () => ({ HYDRA_PORT: String(port), HYDRA_CONSOLE: 'true', HYDRA_PING_INTERVAL_MS: '1000' });

  beforeAll(async () => {
    f = await StreamFixture.start();
    port = await freePort();
    [gw, browser, key] = await Promise.all([f.gateway(env()), launchChromium(), f.key([...SCOPES])]);
    await f.backplane.bus.publish([
      ...Array.from({ length: AIRCRAFT }, (_, i) => aircraft(i)),
      ...Array.from({ length: VESSELS }, (_, i) => vessel(i)),
      ...Array.from({ length: 6 }, (_, i) => alert(i)),
      {
        scope: 'cyber',
        data: { kind: 'indicator', iocType: 'domain', value: 'bad.example', stix: { type: 'indicator' } },
      },
      {
        scope: 'cyber',
        data: {
          kind: 'vulnerability',
          cveIds: ['CVE-2026-0001'],
          cvss: { version: '3.1', baseScore: 9.8, baseSeverity: 'CRITICAL' },
          stix: { type: 'vulnerability', name: 'CVE-2026-0001' },
        },
      },
      ...Array.from({ length: 9 }, (_, i) => ({
        scope: 'signals' as const,
        data: { kind: 'rf', label: `sig ${i}`, freqHz: 1e8 + i },
      })),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => console.error('page error:', err));
  });
  afterAll(async () => {
    await browser?.close();
    await f?.stop();
  });

  it('is served only with HYDRA_CONSOLE=true, with a policy that keeps the page to its own origin', async () => {
    const served = await fetch(`http://127.0.0.1:${port}/`);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toMatch(/^text\/html/);
    expect(served.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(served.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await served.text()).toContain('<script type="module" src="console.js">');
    const script = await fetch(`http://127.0.0.1:${port}/console.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    const worker = await fetch(`http://127.0.0.1:${port}/stream-worker.js`);
    expect(worker.status).toBe(200);
    expect(worker.headers.get('content-security-policy')).toContain("default-src 'none'");

    const plain = await f.gateway(); // HYDRA_CONSOLE unset: off
    expect((await fetch(`http://127.0.0.1:${plain.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${plain.port}/console.js`)).status).toBe(404);
    await plain.stop();
  });

  it('shows per scope the count a plain client’s snapshot holds, and a marker per entity', async () => {
    const plain = new PlainCounts(f.client(withKey(gw.url, key.key)));
    await plain.client.until(() => allSnapshots(plain));
    await page.goto(consoleUrl(port, key.key));
    await waitForState(page, 'open');
    await waitForMarkers(page, AIRCRAFT + VESSELS);
    await page.waitForFunction(() => document.querySelector('[data-testid="seq-signals"]')?.textContent !== '—');
    const shown = await readScopes(page);
    for (const scope of SCOPES) {
      expect({ scope, ...shown[scope] }).toEqual({ scope, ...plain.snapshots.get(scope) });
    }
    expect(Number(await testIdText(page, 'markers'))).toBe(AIRCRAFT + VESSELS);
    // Newest first, in the CAP severity's colour; the CVSS of a vulnerability.
    const firstAlert = page.locator('[data-testid="feed-alerts"] li').first();
    expect(await firstAlert.innerText()).toContain('Alert number 5');
    expect(await firstAlert.locator('.badge').getAttribute('class')).toContain('sev-moderate');
    expect(await page.locator('[data-testid="feed-cyber"] li').first().innerText()).toContain('CVSS 9.8 CRITICAL');
    // The key never left the browser except on the stream's own URL: nothing of it in the page's own requests.
    expect(page.url()).toContain('#key=');
    await page.screenshot({ path: join(artifactsDir(), 'gateway-desktop.png') });
    plain.client.terminate();
  });

  it('follows live events: a move, a removal and a new alert; hover and click show an entity’s fields', async () => {
    const before = await locate(page, 'aircraft', 'a1');
    await f.backplane.bus.publish([
      aircraft(1, 100),
      { scope: 'vessels', op: 'delete', data: { id: 'v0' } },
      alert(99, 'Extreme'),
    ]);
    await page.waitForFunction(() => document.querySelector('[data-testid="count-vessels"]')?.textContent === '19');
    await expect.poll(() => testIdText(page, 'markers')).toBe(String(AIRCRAFT + VESSELS - 1));
    const firstAlert = page.locator('[data-testid="feed-alerts"] li').first();
    await expect.poll(() => firstAlert.innerText()).toContain('Alert number 99');
    expect(await firstAlert.locator('.badge').getAttribute('class')).toContain('sev-extreme');
    // The world view takes the 5 s tier: each entity scope's change comes with its own tier's next flush.
    await expect.poll(() => locate(page, 'aircraft', 'a1'), { timeout: 10_000 }).not.toEqual(before);
    const at = (await locate(page, 'aircraft', 'a1'))!;
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.move(box.x + at.x, box.y + at.y);
    await expect.poll(() => page.locator('#tooltip').innerText()).toContain('TEST1');
    await page.mouse.click(box.x + at.x, box.y + at.y);
    await expect.poll(() => page.locator('#details-title').innerText()).toContain('TEST1');
    expect(await testIdText(page, 'details')).toContain('trackDeg');
  });

  it('shows reconnecting then open across a gateway restart, with no entity twice', async () => {
    gw.kill('SIGTERM');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="status-log"]')?.textContent?.includes('reconnecting 1001'),
      null,
      { timeout: 15_000 },
    );
    await gw.exited;
    // While it is down: an update, a new aircraft and a removal, which the page gets by resume.
    await f.backplane.bus.publish([
      aircraft(2, 10),
      aircraft(100, 150),
      { scope: 'aircraft', op: 'delete', data: { id: 'a3' } },
    ]);
    gw = await f.gateway(env());
    await waitForState(page, 'open', 20_000);
    const fresh = new PlainCounts(f.client(withKey(gw.url, key.key)));
    await fresh.client.until(() => allSnapshots(fresh));
    await page.waitForFunction(
      (seq) => Number(document.querySelector('[data-testid="seq-aircraft"]')?.textContent) === seq,
      fresh.snapshots.get('aircraft')!.seq,
    );
    const shown = await readScopes(page);
    for (const scope of SCOPES) expect({ scope, ...shown[scope] }).toEqual({ scope, ...fresh.snapshots.get(scope) });
    expect(shown.aircraft.count).toBe(AIRCRAFT);
    await expect.poll(() => testIdText(page, 'markers')).toBe(String(AIRCRAFT + VESSELS - 1));
    const log = await testIdText(page, 'status-log');
    expect(log.indexOf('reconnecting 1001')).toBeGreaterThan(log.indexOf('open')); // newest first
    fresh.client.terminate();
  });

  it('shows a revoked key’s refusal: closed, 1008 and the reason', async () => {
    await f.backplane.keys.revoke(key.id);
    await waitForState(page, 'closed');
    expect(await testIdText(page, 'status-code')).toBe('1008');
    expect(await testIdText(page, 'status')).toMatch(/^closed 1008 .*revoked/);
    await page.screenshot({ path: join(artifactsDir(), 'gateway-revoked.png') });
  });
});
