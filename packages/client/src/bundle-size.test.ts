import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** The browser bundle's budget, minified + gzip (issue 14; centrifuge-js 5 is about 17 KB by the same measure). */
const BUDGET_BYTES = 6 * 1024;

/** Bundles the SDK for browsers from source, as an app would: minified ESM, nothing external. */
export async function browserBundle(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('./index.ts', import.meta.url).pathname],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

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
