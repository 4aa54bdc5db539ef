import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { StreamClient } from '../src/index.js';

/** A server that drops its first `drops` sockets right after the upgrade (as uWebSockets#1928 does), then greets. */
async function dropFirst(drops: number): Promise<{ url: string; server: WebSocketServer; upgrades: () => number }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  let upgrades = 0;
  server.on('connection', (ws) => {
    if (upgrades++ < drops) ws.terminate();
    else ws.send(JSON.stringify({ type: 'connected', data: { scopes: [], ts: 1 } }));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, server, upgrades: () => upgrades };
}

describe('StreamClient', () => {
  let server: WebSocketServer | undefined;
  afterEach(() => server?.close());

  it('dials again when a socket is dropped right after its upgrade, before any message (at most twice)', async () => {
    const s = await dropFirst(2);
    server = s.server;
    const c = new StreamClient(s.url);
    await c.waitFor((m) => m.type === 'connected');
    expect(c.earlyDrops).toBe(2);
    expect(c.closeCode).toBeNull();
    await c.close();
  });

  it('reports the third early drop as the close, and never redials when told not to', async () => {
    const s = await dropFirst(4);
    server = s.server;
    const c = new StreamClient(s.url);
    expect((await c.closed).code).toBe(1006);
    expect(c.earlyDrops).toBe(2);
    const once = new StreamClient(s.url, { retryEarlyDrops: false });
    expect((await once.closed).code).toBe(1006);
    expect(once.earlyDrops).toBe(0);
    expect(s.upgrades()).toBe(4);
  });
});
