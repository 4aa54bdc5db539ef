import { type Backplane, createBackplane, DEFAULT_RETENTION, parseRetention } from '@hydra/backplane';
import type { Scope } from '@hydra/protocol';
import { StreamClient, type StreamClientOptions } from '@hydra/stream-client';
import { startRedis, type TestRedis } from './redis-server.js';
import { type GatewayProcess, type ServiceProcess, spawnService, startGatewayProcess } from './service-process.js';

/**
 * A real Redis, a backplane client for the test itself (to create keys and
 * publish), and gateway processes started from the built dist.
 */
export class StreamFixture {
  redis!: TestRedis;
  backplane!: Backplane;
  readonly gateways: GatewayProcess[] = [];
  private readonly clients: StreamClient[] = [];
  /** HYDRA_RETENTION shared by the test's backplane and every gateway (processes sharing state must agree). */
  private retention = '';

  static async start(
    options: { retention?: string; persist?: boolean; redisArgs?: string[] } = {},
  ): Promise<StreamFixture> {
    const f = new StreamFixture();
    f.retention = options.retention ?? '';
    f.redis = await startRedis({ persist: options.persist ?? false, args: options.redisArgs });
    f.backplane = createBackplane({
      kind: 'redis',
      url: f.redis.url,
      retention: options.retention ? parseRetention(options.retention) : DEFAULT_RETENTION,
    });
    return f;
  }

  async gateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
    const gw = await startGatewayProcess({
      HYDRA_REDIS_URL: this.redis.url,
      HYDRA_DRAIN_MS: '200',
      HYDRA_RETENTION: this.retention,
      ...env,
    });
    this.gateways.push(gw);
    return gw;
  }

  /**
   * A gateway process on this fixture's Redis, on loopback with free ports,
   * not awaited: for tests of its start-up (a refusal to start, a signal
   * during the start). `env` adds to or overrides those settings.
   */
  spawnGateway(env: Record<string, string> = {}): ServiceProcess {
    return spawnService('apps/gateway/dist/main.js', {
      HYDRA_REDIS_URL: this.redis.url,
      HYDRA_HOST: '127.0.0.1',
      HYDRA_PORT: '0',
      HYDRA_ADMIN_PORT: '0',
      ...env,
    });
  }

  async key(scopes: Scope[], ttlSeconds?: number): Promise<{ id: string; key: string }> {
    const created = await this.backplane.keys.create({ scopes, ttlSeconds, name: 'test' });
    return { id: created.record.id, key: created.key };
  }

  client(url: string, options: StreamClientOptions = {}): StreamClient {
    const c = new StreamClient(url, options);
    this.clients.push(c);
    return c;
  }

  /** A client past `connected` (a uWebSockets#1928 drop at connect is dialled again: StreamClient). */
  async connectedClient(url: string, options: StreamClientOptions = {}): Promise<StreamClient> {
    const c = this.client(url, options);
    await c.waitFor((m) => m.type === 'connected');
    return c;
  }

  /** Connections of this fixture's clients that the gateway dropped at connect, before any message, and redialled. */
  get dropsAtConnect(): number {
    return this.clients.reduce((n, c) => n + c.earlyDrops, 0);
  }

  async publish(scope: Scope, data: Record<string, unknown>): Promise<number> {
    const [published] = await this.backplane.bus.publish([{ scope, data }]);
    return published?.seq ?? -1;
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.terminate();
    await Promise.all(this.gateways.map((g) => g.stop()));
    await this.backplane.close();
    await this.redis.stop();
  }
}

export const withKey = (url: string, key: string, extra = ''): string =>
  `${url}?apiKey=${encodeURIComponent(key)}${extra}`;
