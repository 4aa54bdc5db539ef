import { redisChannels } from '@hydra/backplane';
import type { GatewayProcess } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A message on a bus channel that is neither an event frame nor a control
 * notice is dropped by the backplane; the gateway makes each drop visible
 * (hydra_bus_messages_dropped_total{reason} and a log line without the
 * message) and keeps streaming.
 */
describe('bus messages the gateway drops', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;
  let admin: Redis;

  beforeAll(async () => {
    f = await StreamFixture.start();
    gw = await f.gateway();
    admin = f.redis.client();
  });
  afterAll(async () => {
    admin?.disconnect();
    await f?.stop();
  });

  const dropped = async (reason: string) => {
    const text = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
    const value = new RegExp(`^hydra_bus_messages_dropped_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text)?.[1];
    return Number(value);
  };

  it('counts and logs garbage on the event and control channels, and keeps delivering', async () => {
    expect(await dropped('malformed')).toBe(0);
    expect(await dropped('handler_error')).toBe(0);
    const { key } = await f.key(['alerts']);
    const client = await f.connectedClient(withKey(gw.url, key));
    await client.waitFor((m) => m.type === 'snapshot');

    const garbage = 'garbage-secret-looking-payload';
    await admin.publish(redisChannels.scopeEvents('alerts'), garbage);
    await admin.publish(redisChannels.control(), `{"type":"key-revoked",${garbage}`);
    await f.publish('alerts', { label: 'after the garbage' });
    const [live] = await client.waitFor((m) => m.type === 'alerts');
    expect((live?.data as { label?: string }).label).toBe('after the garbage');

    expect(await dropped('malformed')).toBe(2);
    expect(await dropped('handler_error')).toBe(0);
    const line = await gw.waitForLog((l) => l.msg === 'dropped a malformed bus message');
    expect(line).toMatchObject({
      level: 40,
      component: 'bus',
      reason: 'malformed',
      channel: 'events',
      scope: 'alerts',
    });
    expect(line.bytes).toBe(garbage.length);
    // Logged by size and channel, never by content; the second drop falls in the same log window.
    expect(JSON.stringify(gw.logs)).not.toContain(garbage);
    expect(gw.logs.filter((l) => l.msg === 'dropped a malformed bus message')).toHaveLength(1);
  });
});
