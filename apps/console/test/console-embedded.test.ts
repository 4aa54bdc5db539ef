import { join } from 'node:path';
import { launchChromium, StreamClient, skipWithoutChromium, withKey } from '@hydra/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactsDir,
  locate,
  PlainCounts,
  pointAt,
  readScopes,
  startEmbedded,
  waitForMarkers,
  waitForState,
} from './console-page.js';

/**
 * `pnpm start`'s console, for real: the URL its banner prints opens in
 * headless Chromium and shows the demo world moving, with the counts a plain
 * WebSocket client holds at the same seq; readable on a desktop and on a
 * phone (screenshots in test-artifacts/console/), panels reachable by keyboard.
 */
describe.skipIf(skipWithoutChromium())('the web console of pnpm start', () => {
  let embedded: Awaited<ReturnType<typeof startEmbedded>>;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [embedded, browser] = await Promise.all([startEmbedded(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await embedded?.process.stop();
  });

  it('opens from the banner’s URL and shows the demo world moving, counted as a plain client counts it', async () => {
    // The page's world view takes the 5 s tier; so does this client, so both get the same flushes.
    const plain = new PlainCounts(new StreamClient(withKey(embedded.streamUrl, embedded.key, '&conflate=5000')));
    try {
      page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
      page.on('pageerror', (err) => console.error('page error:', err));
      await page.goto(embedded.consoleUrl);
      await waitForState(page, 'open');
      await waitForMarkers(page, 400); // the demo world: 300 aircraft and 200 vessels
      const aircraftSeqAbove = (seq: number) =>
        page.waitForFunction(
          (s) => Number(document.querySelector('[data-testid="seq-aircraft"]')?.textContent) > s,
          seq,
          { timeout: 20_000 },
        );
      // Compared from the end of the page's first flush on: it joined mid-interval and was sent only
      // that flush's events after its snapshot, so only from there on does it hold, after each seq,
      // what the plain client (on the same tier since before) holds after that seq. The first seq
      // shown is the snapshot's; the first flush can show twice (once more when the page's 250 ms
      // sample falls within the milliseconds the flush takes), so the third rise is always past its end.
      let previous = -1;
      for (let rise = 0; rise < 3; rise++) {
        await aircraftSeqAbove(previous);
        previous = (await readScopes(page)).aircraft.seq;
      }
      for (let round = 0; round < 2; round++) {
        // Moving: the page shows newer aircraft positions each time.
        await aircraftSeqAbove(previous);
        const shown = await readScopes(page);
        for (const scope of ['aircraft', 'vessels'] as const) {
          const { seq, count } = shown[scope];
          await plain.client.until(() => plain.lastSeq(scope) >= seq, 10_000, `${scope} seq ${seq}`);
          expect({ scope, seq, count }).toEqual({ scope, seq, count: plain.countAt(scope, seq) });
        }
        previous = shown.aircraft.seq;
      }
      // One aircraft hovered and selected: its fields in the tooltip and the details panel.
      const at = (await locate(page, 'aircraft'))!;
      await pointAt(page, at);
      await page.waitForFunction(
        (id) => document.querySelector('[data-testid="details"]')?.textContent?.includes(id),
        at.id,
      );
      await page.screenshot({ path: join(artifactsDir(), 'console-desktop.png') });
    } finally {
      plain.client.terminate();
    }
  }, 60_000); // the 5 s tier: up to three flushes to get past the first, then one per comparison

  it('fits a phone, in the light theme, and every panel is reached with Tab', async () => {
    const phone = await browser.newPage({
      viewport: { width: 390, height: 844 },
      colorScheme: 'light',
      isMobile: true,
      hasTouch: true,
    });
    await phone.goto(embedded.consoleUrl);
    await waitForState(phone, 'open');
    await waitForMarkers(phone, 400);
    // Nothing wider than the screen: no horizontal scrolling.
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.waitForFunction(() => document.querySelectorAll('[data-testid="feed-signals"] li').length > 0);
    await phone.screenshot({ path: join(artifactsDir(), 'console-phone.png'), fullPage: true });
    await phone.close();

    // Keyboard: Tab from the top visits the map and every panel, in reading order.
    // (A click on the title moves the focus navigation's starting point to the top.)
    await page.locator('h1').click();
    const visited: string[] = [];
    for (let i = 0; i < 7; i++) {
      await page.keyboard.press('Tab');
      visited.push(
        await page.evaluate(() => {
          const a = document.activeElement;
          return a?.id || a?.getAttribute('aria-labelledby') || a?.tagName || '';
        }),
      );
    }
    expect(visited).toEqual([
      'map',
      'scopes-title',
      'details-title',
      'alerts-title',
      'cyber-title',
      'signals-title',
      'log-title',
    ]);
  });
});
