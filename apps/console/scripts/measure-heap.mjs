#!/usr/bin/env node
// The console page's memory over time, against `pnpm start`'s embedded process (built dist) with a demo
// world of the size given, in headless Chromium: every --every seconds a full GC of the page (CDP
// HeapProfiler.collectGarbage), then the page's JS heap in use, DOM nodes and event listeners, and the
// RSS of the renderer process (the page and its stream worker together: the worker's heap is not
// reachable from the page's CDP session, and V8 collects it on its own schedule). Not part of
// `pnpm test` (it runs for minutes); run after `pnpm build`:
//
//   node apps/console/scripts/measure-heap.mjs --minutes 5 --aircraft 3000 --vessels 2000
//
// Prints one row per sample and a closing line with the growth after the first minute (warm-up: the
// panels and the entity maps fill during it).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    every: { type: 'string', default: '30' },
    aircraft: { type: 'string', default: '3000' },
    vessels: { type: 'string', default: '2000' },
  },
});
const minutes = Number(values.minutes);
const everyMs = Number(values.every) * 1000;
const root = fileURLToPath(new URL('../../../', import.meta.url));

const embedded = spawn(process.execPath, ['apps/embedded/dist/main.js'], {
  cwd: root,
  env: {
    ...process.env,
    HYDRA_HOST: '127.0.0.1',
    HYDRA_PORT: '0',
    HYDRA_ADMIN_PORT: '0',
    HYDRA_PUBLISHER_PORT: '0',
    HYDRA_LOG_LEVEL: 'warn',
    HYDRA_DEMO_AIRCRAFT: values.aircraft,
    HYDRA_DEMO_VESSELS: values.vessels,
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const consoleUrl = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`no console URL in the banner:\n${out}`)), 60_000);
  embedded.stdout.on('data', (chunk) => {
    out += chunk;
    const url = /Console\s+(http:\/\/\S+)/.exec(out)?.[1];
    if (url) {
      clearTimeout(timer);
      resolve(url);
    }
  });
  embedded.once('exit', (code) => reject(new Error(`embedded process exited (${code})`)));
});

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});

/** RSS (MiB) of the Chromium renderer processes (`--type=renderer`) descending from this script. */
function rendererRssMiB() {
  const parent = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(Number(pid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const ours = (pid) => {
    for (let p = parent.get(pid), hops = 0; p !== undefined && p > 1 && hops < 64; p = parent.get(p), hops++) {
      if (p === process.pid) return true;
    }
    return false;
  };
  let kib = 0;
  for (const pid of parent.keys()) {
    try {
      if (!ours(pid) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kib / 1024;
}
const MiB = 1024 * 1024;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(consoleUrl);
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.dataset.state === 'open', null, {
    timeout: 60_000,
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const started = Date.now();
  const samples = [];
  console.log(`console heap, ${values.aircraft} aircraft + ${values.vessels} vessels, ${minutes} min`);
  console.log(
    '| t (s) | page JS heap (MiB) | renderer RSS (MiB) | DOM nodes | listeners | markers | events/s | load avg | status |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (;;) {
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    const metrics = Object.fromEntries(
      (await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]),
    );
    const shown = await page.evaluate(() => {
      const n = (id) => Number(document.querySelector(`[data-testid="${id}"]`)?.textContent ?? 0);
      return {
        markers: n('markers'),
        rate: n('rate-aircraft') + n('rate-vessels') + n('rate-signals'),
        status: document.querySelector('[data-testid="status"]')?.textContent ?? '',
      };
    });
    const rss = rendererRssMiB();
    const t = Math.round((Date.now() - started) / 1000);
    samples.push({ t, heap: usedSize / MiB, rss });
    console.log(
      `| ${t} | ${(usedSize / MiB).toFixed(2)} | ${rss.toFixed(0)} | ${metrics.Nodes} | ${metrics.JSEventListeners} | ${shown.markers} | ${shown.rate.toFixed(0)} | ${loadavg()[0].toFixed(1)} | ${shown.status} |`,
    );
    if (Date.now() - started >= minutes * 60_000) break;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  const warm = samples.find((s) => s.t >= 60) ?? samples[0];
  const last = samples.at(-1);
  const perMin = last.t > warm.t ? ((last.heap - warm.heap) / (last.t - warm.t)) * 60 : 0;
  const rssPerMin = last.t > warm.t ? ((last.rss - warm.rss) / (last.t - warm.t)) * 60 : 0;
  console.log(
    `\npage heap after warm-up (t=${warm.t} s): ${warm.heap.toFixed(2)} MiB; at the end (t=${last.t} s): ${last.heap.toFixed(2)} MiB; ` +
      `${perMin >= 0 ? '+' : ''}${perMin.toFixed(3)} MiB/min; renderer RSS ${warm.rss.toFixed(0)} → ${last.rss.toFixed(0)} MiB ` +
      `(${rssPerMin >= 0 ? '+' : ''}${rssPerMin.toFixed(2)} MiB/min)`,
  );
} finally {
  await browser.close();
  embedded.kill('SIGINT');
}
