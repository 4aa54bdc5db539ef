import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, type GatewayProcess, launchChromium, StreamFixture, skipWithoutChromium } from '@hydra/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserBundle } from './browser-bundle.js';
import { range } from './sdk-helpers.js';

interface PageRecord {
  events: [string, number][];
  snapshots: [string, number][];
  statuses: { state: string; code?: number }[];
}

/**
 * The SDK's browser bundle in headless Chromium (Debian's `chromium`),
 * against a real gateway: the platform WebSocket, the heartbeat (browsers
 * cannot see pings), and a gateway drain and restart on the same port.
 */
describe.skipIf(skipWithoutChromium())('@hydra/client in headless Chromium', () => {
  let f: StreamFixture;
  let browser: Browser;
  let page: Page;
  let server: Server;

  beforeAll(async () => {
    f = await StreamFixture.start();
    browser = await launchChromium();
    // The page comes from loopback too: Chromium blocks a public or opaque origin (about:blank) from
    // reaching a loopback address (Local Network Access).
    const html = `<!doctype html><meta charset="utf-8"><script>${await browserBundle('iife')}</script>`;
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    page = await browser.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
    await f?.stop();
  });

  const record = () => page.evaluate(() => (window as unknown as { rec: PageRecord }).rec);
  const lastSeq = (rec: PageRecord) => rec.events.at(-1)?.[1] ?? rec.snapshots.at(-1)?.[1] ?? -1;

  it('loads the bundle, connects with heartbeats, survives a gateway restart and counts the events exactly', async () => {
    const port = await freePort();
    const env = { HYDRA_PORT: String(port), HYDRA_PING_INTERVAL_MS: '1000' };
    let gw: GatewayProcess = await f.gateway(env);
    const { key } = await f.key(['signals']);
    for (let i = 0; i < 5; i++) await f.publish('signals', { label: `before-${i}` });

    await page.evaluate(
      ({ url, apiKey }) => {
        const w = window as unknown as {
          rec: PageRecord;
          client: unknown;
          Hydra: { HydraClient: new (o: unknown) => { on: (n: string, l: (v: never) => void) => void } };
        };
        const rec: PageRecord = { events: [], snapshots: [], statuses: [] };
        w.rec = rec;
        const client = new w.Hydra.HydraClient({ url, apiKey, backoff: { initialMs: 100, maxMs: 1000 } });
        client.on('event', (e: { type: string; seq: number }) => rec.events.push([e.type, e.seq]));
        client.on('snapshot', (s: { scope: string; seq: number }) => rec.snapshots.push([s.scope, s.seq]));
        client.on('status', (s: { state: string; code?: number }) =>
          rec.statuses.push({ state: s.state, code: s.code }),
        );
        w.client = client;
      },
      { url: gw.url, apiKey: key },
    );
    await page
      .waitForFunction(() => (window as unknown as { rec: PageRecord }).rec.snapshots.length === 1, null, {
        timeout: 10_000,
      })
      .catch(async (err) => {
        console.log(JSON.stringify(await record()));
        throw err;
      });
    // The browser asked for heartbeats (it cannot see protocol pings): it learns the gateway's interval.
    await page.waitForFunction(
      () => (window as unknown as { client: { intervalMs: number } }).client.intervalMs === 1000,
    );

    let last = 0;
    for (let i = 0; i < 20; i++) last = await f.publish('signals', { label: `live-${i}` });
    await page.waitForFunction(
      (seq) => (window as unknown as { rec: PageRecord }).rec.events.at(-1)?.[1] === seq,
      last,
    );

    gw.kill('SIGTERM');
    await gw.exited;
    for (let i = 0; i < 20; i++) last = await f.publish('signals', { label: `missed-${i}` });
    gw = await f.gateway(env);
    for (let i = 0; i < 20; i++) last = await f.publish('signals', { label: `after-${i}` });
    await page.waitForFunction(
      (seq) => (window as unknown as { rec: PageRecord }).rec.events.at(-1)?.[1] === seq,
      last,
      {
        timeout: 20_000,
      },
    );

    const rec = await record();
    expect(rec.snapshots).toEqual([['signals', 5]]);
    expect(rec.events.map(([, seq]) => seq)).toEqual(range(6, last));
    expect(lastSeq(rec)).toBe(last);
    expect(rec.statuses.filter((s) => s.state === 'open')).toHaveLength(2);
    expect(rec.statuses.find((s) => s.state === 'reconnecting')?.code).toBe(1001);
    await page.evaluate(() => (window as unknown as { client: { close: () => void } }).client.close());
    await gw.stop();
  }, 60_000);
});
