import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { GatewayProcess, StreamClient } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamFixture, withKey } from './fixture.js';
import { metricValue } from './redis-cost.js';

const SLOW = 1000;
const HEALTHY = 20;
const MAX_BUFFERED = 256 * 1024;
const PAYLOAD = 'x'.repeat(4000);

/** VmRSS of a process, bytes. */
const rss = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.99)] ?? 0;

/**
 * PENDING (not run by `pnpm test`: rename to `.test.ts` once it passes). Measured
 * on 2026-11-28 on a loaded 2-core box: all 1,000 slow clients are dropped by the
 * policy, but gateway RSS grew +297 MB (bound as written: 250 MB, which ignores
 * allocator overhead and RSS not returned after frees) and the healthy clients'
 * p50 latency went from 10 ms to 1,678 ms while the slow clients' buffers filled.
 * Open work: fill slow buffers at a lower cost (smaller maxBackpressure with
 * earlier 4000 closes, or conflation) and restate the memory bound.
 *
 * Issue 7's slow-consumer case: 1,000 clients that never read while healthy
 * ones keep receiving. The gateway's memory stays under the documented bound
 * (HYDRA_MAX_BUFFERED_BYTES per client) and the healthy clients' latency
 * stays within 2× of the same load without the slow clients (with a 20 ms
 * floor: `ts` has millisecond resolution and this is a shared 2-core box).
 */
describe('1,000 slow consumers', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;
  let key: string;
  const healthy: StreamClient[] = [];
  let stopSlow: () => void = () => undefined;

  beforeAll(async () => {
    f = await StreamFixture.start();
    gw = await f.gateway({ HYDRA_MAX_BUFFERED_BYTES: String(MAX_BUFFERED) });
    key = (await f.key(['signals'])).key;
    for (let i = 0; i < HEALTHY; i++) {
      const c = f.client(withKey(gw.url, key, '&snapshot=false'), { localAddress: `127.0.70.${i + 1}` });
      await c.waitFor((m) => m.type === 'connected');
      healthy.push(c);
    }
  });
  afterAll(async () => {
    stopSlow();
    await f?.stop();
  });

  /** Publishes `count` 4 KB events in batches of 20 every 20 ms; returns healthy receive latencies (ms). */
  const load = async (count: number, label: string): Promise<number[]> => {
    const latencies: number[] = [];
    const listeners = healthy.map((c) => {
      const onMessage = (data: Buffer) => {
        const m = JSON.parse(data.toString()) as { type: string; ts: number; data: { label?: string } };
        if (m.type === 'signals' && m.data.label?.startsWith(label)) latencies.push(Date.now() - m.ts);
      };
      c.ws.on('message', onMessage);
      return () => c.ws.off('message', onMessage);
    });
    for (let sent = 0; sent < count; sent += 20) {
      const started = performance.now();
      await f.backplane.bus.publish(
        Array.from({ length: 20 }, (_, i) => ({
          scope: 'signals' as const,
          data: { label: `${label}-${sent + i}`, padding: PAYLOAD },
        })),
      );
      const wait = 20 - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await Promise.all(
      healthy.map((c) =>
        c.until(
          () => c.messages.some((m) => (m.data as { label?: string })?.label === `${label}-${count - 1}`),
          20_000,
          'the last event',
        ),
      ),
    );
    for (const off of listeners) off();
    return latencies;
  };

  it('keeps gateway memory under the bound and healthy latency within 2× while 1,000 clients never read', async () => {
    const baseline = await load(400, 'base');
    const rssBefore = rss(gw.child.pid as number);

    // The slow clients live in a Python process with tiny receive buffers (helpers/slow_clients.py),
    // so the kernel cannot absorb megabytes for them: the gateway's send buffers are what fill.
    const py = spawn(
      '/usr/bin/python3',
      [
        'apps/gateway/test/helpers/slow_clients.py',
        String(gw.port),
        `/v1/stream?apiKey=${key}&snapshot=false`,
        String(SLOW),
        '127.0.72',
      ],
      { cwd: new URL('../../../', import.meta.url).pathname, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    stopSlow = () => py.kill('SIGKILL');
    await new Promise<void>((resolve, reject) => {
      let out = '';
      py.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes(`ready ${SLOW}`)) resolve();
        if (out.includes('refused')) reject(new Error(out));
      });
      py.once('exit', (code) => reject(new Error(`slow clients exited ${code}: ${out}`)));
    });
    expect(await metricValue(gw.adminPort, 'hydra_connections')).toBe(HEALTHY + SLOW);
    const withSlow = await load(400, 'slow');
    const rssAfter = rss(gw.child.pid as number);

    const growth = rssAfter - rssBefore;
    console.log(
      `[figures] ${SLOW} slow consumers: gateway RSS +${(growth / 1048576).toFixed(1)} MB ` +
        `(bound ${((SLOW * MAX_BUFFERED) / 1048576).toFixed(0)} MB); healthy latency p50 ${median(baseline)} → ${median(withSlow)} ms, ` +
        `p99 ${p99(baseline)} → ${p99(withSlow)} ms`,
    );
    expect(withSlow.length).toBe(HEALTHY * 400);
    // The policy acted on them: dropped at the send-buffer limit (1006) or closed 4000 by the sweep.
    const dropped =
      (await metricValue(gw.adminPort, 'hydra_connections_closed_total{code="1006"}')) +
      (await metricValue(gw.adminPort, 'hydra_connections_closed_total{code="4000"}'));
    console.log(`[figures] slow consumers dropped by the policy: ${dropped} of ${SLOW}`);
    expect(growth).toBeLessThan(SLOW * MAX_BUFFERED);
    expect(median(withSlow)).toBeLessThanOrEqual(Math.max(2 * median(baseline), 20));
    expect(healthy.every((c) => c.closeCode === null)).toBe(true);
  }, 180_000);
});
