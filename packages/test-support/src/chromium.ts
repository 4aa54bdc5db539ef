import { type Browser, chromium } from 'playwright-core';
import { requireTool, skipWithout } from './external-tools.js';

/** Debian's `chromium` package (the browser tests drive it through playwright-core, no browser download). */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];

/** For `describe.skipIf(skipWithoutChromium())`: skipped only outside CI when Chromium is absent. */
export const skipWithoutChromium = (): boolean => skipWithout('chromium', 'chromium');

/** Headless Chromium, failing with the package to install when it is missing. Close it in afterAll. */
export async function launchChromium(): Promise<Browser> {
  requireTool('chromium', 'chromium');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_FLAGS] });
}
