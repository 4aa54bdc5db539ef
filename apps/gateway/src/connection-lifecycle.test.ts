import { describe, expect, it, vi } from 'vitest';
import { ConnectionLifecycle, type ConnectionLifecycleDeps } from './connection-lifecycle.js';
import { Heartbeat } from './heartbeat.js';
import { GatewayMetrics } from './metrics.js';
import type { SocketData } from './session.js';
import { testSession } from './session.test-support.js';
import type { WebSocket } from './uws.js';

/**
 * With uWS's idle pings, what restarts uWS's idle timer must hand the session
 * to the gateway's own timer (heartbeat.ts): a drain of its backlog, a data
 * message, a ping from the client. Each is pinged at once.
 */
describe('ConnectionLifecycle with uWS idle pings', () => {
  const setup = () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const heartbeat = new Heartbeat(1000, metrics, { mode: 'native' });
    const session = testSession(1, false);
    const ping = vi.fn(() => 1);
    const ws = {
      getUserData: () => ({ session }),
      getBufferedAmount: () => 0,
      ping,
      end: vi.fn(),
    } as unknown as WebSocket<SocketData>;
    session.ws = ws;
    const deps = {
      heartbeat,
      metrics,
      slowConsumers: { watch: vi.fn() },
      pacer: { onDrain: vi.fn() },
    } as unknown as ConnectionLifecycleDeps;
    return { lifecycle: new ConnectionLifecycle(deps), ws, ping, heartbeat };
  };

  it.each([
    'drain',
    'message',
    'ping',
  ] as const)('a %s pings the session at once and keeps it on the timer', (event) => {
    const { lifecycle, ws, ping, heartbeat } = setup();
    lifecycle[event](ws);
    expect(ping).toHaveBeenCalledTimes(1);
    expect(heartbeat.size).toBe(1);
  });
});
