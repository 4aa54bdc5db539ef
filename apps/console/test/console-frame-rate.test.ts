import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { launchChromium, skipWithoutChromium } from '@hydra/test-support';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactsDir,
  descendantsCpuMs,
  processTreeCpuMs,
  startEmbedded,
  testIdText,
  waitForMarkers,
  waitForState,
} from './console-page.js';

const AIRCRAFT = 3000;
const VESSELS = 2000;
const WINDOW_MS = 5000;

interface FrameReport {
  /** requestAnimationFrame callbacks in the window, per second. */
  fps: number;
  /** Frames the map drew (it draws only after a change) per second. */
  drawnPerSec: number;
  p50FrameMs: number;
  p95FrameMs: number;
  maxFrameMs: number;
  /** The map's own draw time (ms), median and 95th percentile. */
  p50DrawMs: number;
  p95DrawMs: number;
  markers: number;
  eventsPerSec: number;
  /** CPU time of all of Chromium's processes (renderer, GPU, browser) per frame, and of the embedded process per second. */
  browserCpuMsPerFrame: number;
  browserCpuPercent: number;
  embeddedCpuPercent: number;
  /** The machine's 1-minute load average when measured (2 cores): how much the fps says about the page. */
  loadAverage: number;
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};

/**
 * 5,000 moving entities (3,000 aircraft and 2,000 vessels, each reporting at
 * the demo's rate: about 2,200 events/s) in headless Chromium at 1280×800:
 * frame timing by requestAnimationFrame over 5 s, REPORTED, not asserted (a
 * frame rate on this shared 2-core machine measures the machine's load as
 * much as the page; the number goes in test-artifacts/console/frame-rate.json
 * and the output). Asserted: every entity is drawn, and frames are drawn
 * while the stream moves.
 */
describe.skipIf(skipWithoutChromium())('the web console with 5,000 moving entities', () => {
  let embedded: Awaited<ReturnType<typeof startEmbedded>>;
  let browser: Browser;

  beforeAll(async () => {
    [embedded, browser] = await Promise.all([
      startEmbedded({ HYDRA_DEMO_AIRCRAFT: String(AIRCRAFT), HYDRA_DEMO_VESSELS: String(VESSELS) }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await embedded?.process.stop();
  });

  it('draws every one of them and reports the frame rate', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(embedded.consoleUrl);
    await waitForState(page, 'open');
    // Each vessel reports within its first 10 s (the demo's vessel interval), each aircraft within 1.5 s.
    await waitForMarkers(page, AIRCRAFT + VESSELS - 100, 30_000);
    // Chromium is a child of this test process, as is the embedded process (counted apart).
    const embeddedPid = embedded.process.child.pid ?? 0;
    const browserCpu = () => descendantsCpuMs(process.pid, [embeddedPid]);
    const cpuBefore = [browserCpu(), processTreeCpuMs(embeddedPid)] as const;
    const sample = await page.evaluate(async (windowMs) => {
      const stats = (window as unknown as { hydraConsole: { map: { frames: number; lastDrawMs: number } } })
        .hydraConsole.map;
      const drawnBefore = stats.frames;
      const frameMs: number[] = [];
      const drawMs: number[] = [];
      let lastDrawn = stats.frames;
      await new Promise<void>((resolve) => {
        const start = performance.now();
        let last = start;
        const tick = (now: number) => {
          frameMs.push(now - last);
          last = now;
          if (stats.frames !== lastDrawn) {
            drawMs.push(stats.lastDrawMs);
            lastDrawn = stats.frames;
          }
          if (now - start < windowMs) requestAnimationFrame(tick);
          else resolve();
        };
        requestAnimationFrame(tick);
      });
      return { frameMs: frameMs.slice(1), drawMs, drawn: stats.frames - drawnBefore };
    }, WINDOW_MS);
    const browserCpuMs = browserCpu() - cpuBefore[0];
    const embeddedCpuMs = processTreeCpuMs(embeddedPid) - cpuBefore[1];
    const rate = async (scope: string) => Number(await testIdText(page, `rate-${scope}`));
    const report: FrameReport = {
      fps: Math.round((sample.frameMs.length / WINDOW_MS) * 1000 * 10) / 10,
      drawnPerSec: Math.round((sample.drawn / WINDOW_MS) * 1000 * 10) / 10,
      p50FrameMs: quantile(sample.frameMs, 0.5),
      p95FrameMs: quantile(sample.frameMs, 0.95),
      maxFrameMs: Math.max(...sample.frameMs),
      p50DrawMs: quantile(sample.drawMs, 0.5),
      p95DrawMs: quantile(sample.drawMs, 0.95),
      markers: Number(await testIdText(page, 'markers')),
      eventsPerSec: (await rate('aircraft')) + (await rate('vessels')),
      browserCpuMsPerFrame: Math.round((browserCpuMs / Math.max(1, sample.frameMs.length)) * 10) / 10,
      browserCpuPercent: Math.round((browserCpuMs / WINDOW_MS) * 100),
      embeddedCpuPercent: Math.round((embeddedCpuMs / WINDOW_MS) * 100),
      loadAverage: loadavg()[0] ?? 0,
    };
    writeFileSync(join(artifactsDir(), 'frame-rate.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`[console] 5,000 moving entities: ${JSON.stringify(report)}`);
    expect(report.markers).toBeGreaterThanOrEqual(AIRCRAFT + VESSELS - 100);
    expect(sample.drawn).toBeGreaterThan(0);
    await page.close();
  }, 90_000);
});
