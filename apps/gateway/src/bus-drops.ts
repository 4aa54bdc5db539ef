import type { BusDrop, BusDropListener, BusDropReason } from '@hydra/backplane';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';

/** After the first line of a reason, at most one line per reason in this window (a flood logs its count). */
const LOG_WINDOW_MS = 10_000;

/**
 * What a gateway does with a bus message the backplane dropped, or that a
 * handler threw on: counts it in hydra_bus_messages_dropped_total{reason}
 * and logs it (which channel and scope, its size, the handler's error;
 * never the message, which may be anything). Lines are throttled per reason
 * (the first at once, then one per LOG_WINDOW_MS carrying how many were not
 * logged), so a flood of garbage cannot flood the log; the counter counts all.
 */
export function reportBusDrops(metrics: GatewayMetrics, logger: Logger, now = () => Date.now()): BusDropListener {
  const log = logger.child({ component: 'bus' });
  const lastLine = new Map<BusDropReason, number>();
  const unlogged = new Map<BusDropReason, number>();
  return (drop: BusDrop) => {
    metrics.busMessagesDropped.inc({ reason: drop.reason });
    const at = now();
    const last = lastLine.get(drop.reason);
    if (last !== undefined && at - last < LOG_WINDOW_MS) {
      unlogged.set(drop.reason, (unlogged.get(drop.reason) ?? 0) + 1);
      return;
    }
    lastLine.set(drop.reason, at);
    const since = unlogged.get(drop.reason) ?? 0;
    unlogged.delete(drop.reason);
    const fields = {
      reason: drop.reason,
      channel: drop.channel,
      ...(drop.scope === undefined ? {} : { scope: drop.scope }),
      bytes: drop.bytes,
      ...(since > 0 ? { notLogged: since } : {}),
      ...(drop.error === undefined ? {} : { err: drop.error }),
    };
    if (drop.reason === 'malformed') log.warn(fields, 'dropped a malformed bus message');
    else log.error(fields, 'a bus handler threw; the message was not fully handled');
  };
}
