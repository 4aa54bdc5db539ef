import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerProcessMetrics } from './process-metrics.js';
import { logRedisRevivals, RedisClientMetrics } from './redis-client-metrics.js';

describe('registerProcessMetrics', () => {
  it('registers the process metrics under the prefix, with no gauge named like a counter', async () => {
    const registry = new Registry();
    registerProcessMetrics(registry, 'hydra_test_');
    const metrics = await registry.getMetricsAsJSON();
    expect(metrics.map((m) => m.name)).toContain('hydra_test_process_cpu_seconds_total');
    const misnamed = metrics.filter((m) => String(m.type) === 'gauge' && m.name.endsWith('_total')).map((m) => m.name);
    expect(misnamed).toEqual([]);
  });
});

describe('RedisClientMetrics', () => {
  it('exposes both connections from the start and counts events per connection', async () => {
    const registry = new Registry();
    const redis = new RedisClientMetrics(registry);
    redis.onReconnecting('subscriber');
    redis.onError('command');
    redis.onError('command');
    const text = await registry.metrics();
    expect(text).toMatch(/^hydra_redis_reconnects_total\{connection="command"\} 0$/m);
    expect(text).toMatch(/^hydra_redis_reconnects_total\{connection="subscriber"\} 1$/m);
    expect(text).toMatch(/^hydra_redis_errors_total\{connection="command"\} 2$/m);
    expect(text).toMatch(/^hydra_redis_errors_total\{connection="subscriber"\} 0$/m);
    expect(text).toMatch(/^hydra_redis_revivals_total\{connection="command"\} 0$/m);
    expect(text).toMatch(/^hydra_redis_revivals_total\{connection="subscriber"\} 0$/m);
  });

  it('through logRedisRevivals: counts every event and logs each revival (connection and attempt only)', async () => {
    const registry = new Registry();
    const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const events = logRedisRevivals(new RedisClientMetrics(registry), {
      warn: (fields, message) => lines.push({ fields, message }),
    });
    events.onRevived('subscriber', 1);
    events.onRevived('subscriber', 2);
    events.onReconnecting('command');
    events.onError('command');
    const text = await registry.metrics();
    expect(text).toMatch(/^hydra_redis_revivals_total\{connection="subscriber"\} 2$/m);
    expect(text).toMatch(/^hydra_redis_revivals_total\{connection="command"\} 0$/m);
    expect(text).toMatch(/^hydra_redis_reconnects_total\{connection="command"\} 1$/m);
    expect(text).toMatch(/^hydra_redis_errors_total\{connection="command"\} 1$/m);
    expect(lines.map((l) => l.fields)).toEqual([
      { component: 'backplane', connection: 'subscriber', attempt: 1 },
      { component: 'backplane', connection: 'subscriber', attempt: 2 },
    ]);
  });
});
