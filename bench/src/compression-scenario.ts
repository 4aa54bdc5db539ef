/**
 * Scenario 7: permessage-deflate (HYDRA_COMPRESSION). The same gateway,
 * the same clients (every one offers the extension) and the same demo-like
 * aircraft events, once per mode: `off` (the default: the offer is declined,
 * the stream is today's) and `shared`. Side by side in one run,
 * so the ratios to `off` are the result; absolute numbers are this machine's.
 *
 * Run at two client counts with the same deliveries per second: if uWS
 * compressed a publish once, the extra CPU per delivery would shrink as the
 * subscribers per event grow; if it compresses per subscriber, it stays.
 */

import { sleep } from './procs.js';
import type { LoadPoint } from './scenarios.js';
import { type Ctx, hydraKeys, measure, SCOPE_NAMES, SERVER_CPUS, SIDE_CPUS } from './scenarios.js';
import { median } from './stats.js';
import { clientPaths, startTarget } from './targets.js';

export const COMPRESSION_MODES = ['off', 'shared'] as const;
export type CompressionMode = (typeof COMPRESSION_MODES)[number];

export interface CompressionPoint extends LoadPoint {
  mode: CompressionMode;
}

const AIRCRAFT = 1;
/**
 * One client in this many inflates and checks its messages (latency and seq
 * continuity come from those); the rest count frames. Inflating every
 * message of 1,000 clients on the load generator's one core made it the
 * bottleneck (deliveries fell to half, p99 to seconds) and the gateway's
 * CPU per delivery meaningless.
 */
const INFLATE_EVERY = 50;

export async function compression(
  ctx: Ctx,
  round: number,
  o: { clientCounts: number[]; deliveriesPerSec: number; durationMs: number; entities: number },
): Promise<CompressionPoint[]> {
  const out: CompressionPoint[] = [];
  const modes = COMPRESSION_MODES.map(
    (_, i) => COMPRESSION_MODES[(i + round) % COMPRESSION_MODES.length] as CompressionMode,
  );
  for (const clients of o.clientCounts) {
    for (const mode of modes) {
      const t = await startTarget('hydra', {
        redisUrl: ctx.redis.url,
        redisPort: ctx.redis.port,
        serverCpus: SERVER_CPUS,
        sideCpus: SIDE_CPUS,
        pingMs: ctx.pingMs,
        gatewayEnv: { HYDRA_COMPRESSION: mode },
      });
      try {
        const subs = [[AIRCRAFT]];
        const keys = await hydraKeys(ctx.redis.url, subs);
        const c = await ctx.workers.connect(clients, {
          protocol: 'hydra',
          port: t.port,
          perIp: 10,
          rampPerSec: Math.ceil(2000 / ctx.workers.size),
          maxInflight: Math.ceil(200 / ctx.workers.size),
          paths: clientPaths(t, subs, SCOPE_NAMES, keys, false),
          subs,
          scopeNames: [...SCOPE_NAMES],
          timeoutMs: 60_000,
          deflate: true,
          inflateEvery: INFLATE_EVERY,
        });
        const eventsPerSec = o.deliveriesPerSec / c.open;
        const plan = { instance: `deflate-${mode}`, round, clients: c.open, subs, scopes: [AIRCRAFT] };
        // Warm-up (JIT, zlib state, buffers), not measured.
        await measure(ctx, t, {
          ...plan,
          eventsPerSec,
          durationMs: 1000,
          payloadKind: 'aircraft',
          entities: o.entities,
        });
        await sleep(300);
        const p = await measure(ctx, t, {
          ...plan,
          eventsPerSec,
          durationMs: o.durationMs,
          payloadKind: 'aircraft',
          entities: o.entities,
        });
        p.offered = o.deliveriesPerSec;
        out.push({ ...p, mode });
        ctx.progress(
          `  ${mode.padEnd(9)} ${String(c.open).padStart(5)} clients: ${p.delivered}/s delivered, loss ${p.lossPct.toFixed(2)}%, ` +
            `${p.wireBytesPerMsg.toFixed(1)} B/delivery on the wire, ` +
            `${p.cpuUsPerDelivery.toFixed(2)} µs CPU/delivery (cpu ${p.serverCpuPct.toFixed(0)}%), p99 ${p.p99.toFixed(1)} ms, ` +
            `RSS ${p.serverRssMb.toFixed(0)} MB${p.clientBound ? ' CLIENT-BOUND' : ''}`,
        );
      } finally {
        await ctx.workers.closeClients();
        await t.stop();
      }
    }
  }
  return out;
}

/** The report's section: per client count, each mode against `off` (medians over rounds). */
export function compressionReport(points: readonly CompressionPoint[]): string[] {
  if (points.length === 0) return [];
  const at = (clients: number, mode: CompressionMode, key: keyof LoadPoint) =>
    median(points.filter((p) => p.clients === clients && p.mode === mode).map((p) => p[key] as number));
  const counts = [...new Set(points.map((p) => p.clients))].sort((a, b) => a - b);
  const lines = [
    '## 7. Compression (permessage-deflate, HYDRA_COMPRESSION)',
    '',
    `Every client offers permessage-deflate; one \`aircraft\` scope of demo-like positions; ${points[0]?.offered.toLocaleString('en-US')} deliveries/s in all. ` +
      '`off` declines the offer (the stream of today). Medians over rounds; ratios against `off` at the same client count, from the same run.',
    '',
    `Messages average ${median(points.filter((p) => p.mode === 'off').map((p) => p.msgBytes)).toFixed(0)} B uncompressed. ` +
      `With compression one client in ${INFLATE_EVERY} inflates and checks its messages (p99 is theirs, the inflate wait included); the others count frames.`,
    '',
    '| clients | mode | wire B/delivery | bytes vs off | CPU µs/delivery | CPU vs off | extra µs/delivery | p99 ms | loss % | server RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const clients of counts) {
    const offBytes = at(clients, 'off', 'wireBytesPerMsg');
    const offCpu = at(clients, 'off', 'cpuUsPerDelivery');
    for (const mode of COMPRESSION_MODES) {
      const bytes = at(clients, mode, 'wireBytesPerMsg');
      const cpu = at(clients, mode, 'cpuUsPerDelivery');
      if (!Number.isFinite(bytes)) continue;
      lines.push(
        `| ${clients} | ${mode} | ${bytes.toFixed(1)} | ${(bytes / offBytes).toFixed(2)}× | ` +
          `${cpu.toFixed(2)} | ${(cpu / offCpu).toFixed(2)}× | ${(cpu - offCpu).toFixed(2)} | ${at(clients, mode, 'p99').toFixed(1)} | ` +
          `${at(clients, mode, 'lossPct').toFixed(2)} | ${at(clients, mode, 'serverRssMb').toFixed(0)} |`,
      );
    }
  }
  lines.push(
    '',
    'Extra µs/delivery that stays the same whatever the clients per event means uWS deflates each event once per subscriber (in `WebSocket::send`), not once per publish.',
    '',
  );
  return lines;
}
