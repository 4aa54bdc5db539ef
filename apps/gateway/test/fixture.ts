import { type Backplane, createBackplane, DEFAULT_RETENTION, parseRetention } from '@hydra/backplane';
import type { Scope } from '@hydra/protocol';
import {
  type GatewayProcess,
  type ServiceProcess,
  StreamClient,
  spawnService,
  startGatewayProcess,
  startRedis,
  type TestRedis,
} from '@hydra/test-support';

/**
 * A real Redis, a backplane client for the test itself (to create keys and
 * publish), and gateway processes started from the built dist.
 */
export class StreamFixture {
  redis!: TestRedis;
  backplane!: Backplane;
  readonly gateways: GatewayProcess[] = [];
  private readonly clients: StreamClient[] = [];
  /** Connections connectedClient() saw dropped before any message (uWebSockets#1928), and retried. */
  dropsAtConnect = 0;
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

  client(url: string, options: ConstructorParameters<typeof StreamClient>[1] = {}): StreamClient {
    const c = new StreamClient(url, options);
    this.clients.push(c);
    return c;
  }

  /**
   * A client past `connected`. A connection dropped with 1006 before any
   * message is retried (at most twice), as the protocol tells clients to:
   * uWS 20.30 can close a freshly upgraded socket right after an async
   * upgrade (uWebSockets#1928). Such a drop frees its slot, so it cannot make
   * a limit look looser, and a retried client is a new connection (its own
   * snapshot), so it cannot hide a gap either.
   */
  async connectedClient(
    url: string,
    options: ConstructorParameters<typeof StreamClient>[1] = {},
  ): Promise<StreamClient> {
    for (let attempt = 0; ; attempt++) {
      const c = this.client(url, options);
      const outcome = await Promise.race([
        c.waitFor((m) => m.type === 'connected').then(() => 'connected' as const),
        c.closed.then(() => 'dropped' as const),
      ]);
      if (outcome === 'connected') return c;
      this.dropsAtConnect++;
      if (attempt === 2 || c.messages.length > 0) throw new Error(`${url}: dropped before any message, three times`);
    }
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
