/**
 * deploy/haproxy/haproxy.cfg checked by HAProxy itself (Debian's `haproxy`):
 * `haproxy -c` offline (the compose service names do not resolve here; the
 * config starts such servers without an address, so the only warnings
 * allowed are those), a syntax error must fail the check, and the shipped
 * config, with only its addresses rewritten to loopback, runs in front of a
 * real gateway that trusts it: the gateway sees each client's own address
 * (its per-IP limit applies per client, not to the proxy), and a client
 * sending its own X-Forwarded-For cannot pass for another address.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backplane, createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import {
  freePort,
  type GatewayProcess,
  requireTool,
  StreamClient,
  startGatewayProcess,
  startRedis,
  type TestRedis,
} from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT, readText, repoPath, skipWithout } from './support.js';

const CONFIG = 'deploy/haproxy/haproxy.cfg';
const skip = skipWithout('haproxy', 'haproxy');

/** `haproxy -c` on a config file: exit status and the warning/alert lines. */
function check(file: string): { status: number | null; messages: string[] } {
  requireTool('haproxy', 'haproxy');
  const result = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8', timeout: 30_000 });
  const messages = `${result.stdout}${result.stderr}`
    .split('\n')
    .filter((l) => /\[(WARNING|ALERT)\]/.test(l))
    .map((l) => l.replace(/^.*?\] +\(\d+\) : /, ''));
  return { status: result.status, messages };
}

describe.skipIf(skip)('deploy/haproxy/haproxy.cfg (haproxy -c)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydra-haproxy-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is valid, with no warning but the unresolvable compose service names', () => {
    const { status, messages } = check(repoPath(CONFIG));
    expect(status).toBe(0);
    const other = messages.filter((m) => !/could not resolve address 'gateway-\d+', disabling server/.test(m));
    expect(other).toEqual([]);
  });

  it.each([
    ['an unknown keyword', (cfg: string) => cfg.replace('balance leastconn', 'balance leastconnn')],
    ['a server outside a backend', (cfg: string) => `${cfg}\nserver stray 127.0.0.1:1\n`],
    ['a bad timeout', (cfg: string) => cfg.replace('timeout tunnel 1h', 'timeout tunnel forever')],
  ])('fails on %s', (_what, mutate) => {
    const file = join(dir, 'broken.cfg');
    writeFileSync(file, mutate(readText(CONFIG)));
    const { status, messages } = check(file);
    expect(status).not.toBe(0);
    expect(messages.some((m) => m.includes('broken.cfg'))).toBe(true);
  });
});

describe.skipIf(skip)('haproxy in front of a real gateway (the shipped config on loopback)', () => {
  let redis: TestRedis;
  let backplane: Backplane;
  let gateway: GatewayProcess;
  let haproxy: ChildProcess;
  let haproxyLog = '';
  let dir: string;
  let url: string;
  let key: string;
  const clients: StreamClient[] = [];

  beforeAll(async () => {
    requireTool('haproxy', 'haproxy');
    redis = await startRedis();
    backplane = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
    key = (await backplane.keys.create({ scopes: ['signals'], name: 'haproxy' })).key;
    gateway = await startGatewayProcess({
      HYDRA_REDIS_URL: redis.url,
      HYDRA_MAX_CONNECTIONS_PER_IP: '1',
      HYDRA_TRUSTED_PROXIES: '127.0.0.1/32',
      HYDRA_DRAIN_MS: '200',
    });
    const [port, stats] = [await freePort(), await freePort()];
    // Only addresses change (and maxconn: compose raises nofile to 65536, this box may not):
    // the frontend on a free loopback port, one server (the test gateway) for the three
    // compose ones, its admin port for the health check.
    let servers = 0;
    const cfg = readText(CONFIG)
      .replace(/^( *maxconn) \d+$/m, '$1 1000')
      .replace(`bind :${CONTRACT.port}`, `bind 127.0.0.1:${port}`)
      .replace('bind :8404', `bind 127.0.0.1:${stats}`)
      .replace(`check port ${CONTRACT.adminPort}`, `check port ${gateway.adminPort}`)
      .replace(/^( *server gateway-\d+ )gateway-\d+:\d+$/gm, (_, head: string) =>
        servers++ === 0 ? `${head}127.0.0.1:${gateway.port}` : '',
      )
      .replace(/ resolvers docker/, '');
    expect(servers).toBe(3);
    dir = mkdtempSync(join(tmpdir(), 'hydra-haproxy-'));
    writeFileSync(join(dir, 'haproxy.cfg'), cfg);
    haproxy = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (c: Buffer) => {
      haproxyLog = (haproxyLog + c.toString()).slice(-4000);
    };
    haproxy.stdout?.on('data', keep);
    haproxy.stderr?.on('data', keep);
    url = `ws://127.0.0.1:${port}/v1/stream?apiKey=${encodeURIComponent(key)}`;
    // Until HAProxy listens and has the gateway up (health check on /readyz).
    const deadline = performance.now() + 20_000;
    for (;;) {
      if (haproxy.exitCode !== null) throw new Error(`haproxy exited: ${haproxyLog}`);
      const probe = new StreamClient(url, { localAddress: '127.0.0.90' });
      const ok = await probe.opened.then(
        () => true,
        () => false,
      );
      probe.terminate();
      await probe.closed.catch(() => undefined);
      if (ok) break;
      if (performance.now() > deadline) throw new Error(`no connection through haproxy: ${haproxyLog}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  afterAll(async () => {
    for (const c of clients) c.terminate();
    haproxy?.kill('SIGTERM');
    await gateway?.stop();
    await backplane?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const client = (localAddress: string, headers: Record<string, string> = {}) => {
    const c = new StreamClient(url, { localAddress, headers });
    clients.push(c);
    return c;
  };

  it('passes each client address: the per-IP limit (1) counts clients, not the proxy', async () => {
    const a = client('127.0.0.91');
    await a.waitFor((m) => m.type === 'snapshot');
    const b = client('127.0.0.92');
    await b.waitFor((m) => m.type === 'snapshot');
    expect((await client('127.0.0.91').waitForRefusal()).status).toBe(429);
  });

  it('judges a client sending its own X-Forwarded-For by its real address (no spoofing)', async () => {
    // 127.0.0.91 is at its limit; a client claiming to be it is judged by its real address.
    const spoofer = client('127.0.0.93', { 'X-Forwarded-For': '127.0.0.91' });
    await spoofer.waitFor((m) => m.type === 'snapshot');
    // And one claiming a fresh address from an address at its limit is still refused.
    expect((await client('127.0.0.92', { 'X-Forwarded-For': '203.0.113.7' }).waitForRefusal()).status).toBe(429);
  });
});
