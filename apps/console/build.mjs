// Builds the console page into dist/public: two JavaScript bundles (the page with d3-geo,
// topojson-client and the world-atlas land outlines; the stream worker with @hydra/client: nothing is
// fetched from elsewhere at run time), the stylesheet and index.html. The gateway serves these files as they are (src/server).
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { build } from 'esbuild';

const out = new URL('./dist/public/', import.meta.url);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
// The page's script, and the worker that runs the stream (the SDK) off the page's main thread.
await build({
  entryPoints: {
    console: new URL('./src/page/main.ts', import.meta.url).pathname,
    'stream-worker': new URL('./src/page/stream-worker.ts', import.meta.url).pathname,
  },
  outdir: out.pathname,
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'console.css']) {
  await copyFile(new URL(`./src/page/${file}`, import.meta.url), new URL(file, out));
}
