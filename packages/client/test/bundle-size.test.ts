import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { browserBundle } from './browser-bundle.js';

/** The browser bundle's budget, minified + gzip (issue 14). centrifuge-js 5.8.0 bundled the same way: 23,653 B. */
const BUDGET_BYTES = 6 * 1024;

describe('browser bundle', () => {
  it(`is at most ${BUDGET_BYTES} bytes minified + gzip, with no Node or protocol runtime code in it`, async () => {
    const code = await browserBundle();
    const gzipped = gzipSync(code, { level: 9 }).length;
    console.log(`@hydra/client browser bundle: ${code.length} B minified, ${gzipped} B minified + gzip`);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
    expect(code).not.toMatch(/require\(|node:|Buffer/);
    // Protocol code (validation, frame builders) stays out: the SDK imports its types only.
    expect(code).not.toContain('invalid server message');
  });
});
