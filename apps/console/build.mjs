// Builds the console page into dist/public: one JavaScript bundle (the page, @hydra/client, d3-geo,
// topojson-client and the world-atlas land outlines: nothing is fetched from elsewhere at run time),
// the stylesheet and index.html. The gateway serves these files as they are (src/server).
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { build } from 'esbuild';

const out = new URL('./dist/public/', import.meta.url);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL('./src/page/main.ts', import.meta.url).pathname],
  outfile: new URL('console.js', out).pathname,
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
