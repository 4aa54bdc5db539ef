import { createBackplane, DEFAULT_RETENTION, generateApiKey, type KeyStore } from '@hydra/backplane';
import { describe, expect, it } from 'vitest';
import { AdmissionControl, type UpgradeRequest } from './admission.js';
import { parseGatewayConfig } from './config.js';
import { KeyCache } from './key-cache.js';
import { createLogger } from './logger.js';
import { GatewayMetrics } from './metrics.js';

/** Admission over the in-memory backplane's real key store and limiter. */
async function setup(env: Record<string, string> = {}) {
  const config = parseGatewayConfig({ HYDRA_NODE_ID: 'n1', ...env });
  const backplane = createBackplane({ kind: 'memory', retention: DEFAULT_RETENTION });
  const limiter = backplane.createLimiter({ nodeId: 'n1', maxPerIp: config.maxConnectionsPerIp, leaseMs: 30_000 });
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const keys = new KeyCache(backplane.keys, { ttlMs: 10_000, negativeTtlMs: 1000 });
  const admission = new AdmissionControl({
    config,
    keys,
    limiter,
    metrics,
    log: createLogger('silent'),
    isRevoked: () => false,
    isDraining: () => false,
  });
  const { key } = await backplane.keys.create({ scopes: ['signals'] });
  const request = (apiKey: string, socketIp = '10.0.0.1'): UpgradeRequest => ({
    headerKey: '',
    forwardedFor: '',
    proxiedIp: '',
    query: `apiKey=${apiKey}`,
    socketIp,
  });
  const decisions = async (decision: string) =>
    (await metrics.registry.getSingleMetric('hydra_limiter_decisions_total')?.get())?.values.find(
      (v) => v.labels.decision === decision,
    )?.value ?? 0;
  return { admission, limiter, key, request, decisions, backplane, keys };
}

describe('AdmissionControl', () => {
  it('stamps a session with the key cache generation taken before its lookup (a clear during it shows at open)', async () => {
    const { admission, key, request, keys } = await setup();
    const admitting = admission.admit(request(key), () => false);
    keys.clear(); // a resubscribe's recheck while this lookup is in flight
    const admitted = await admitting;
    if (admitted.kind !== 'upgrade') throw new Error(`expected an upgrade, got ${admitted.kind}`);
    expect(admitted.session.keyGeneration).toBe(0);
    expect(keys.generation).toBe(1);
    const later = await admission.admit(request(key, '10.0.0.2'), () => false);
    if (later.kind !== 'upgrade') throw new Error(`expected an upgrade, got ${later.kind}`);
    expect(later.session.keyGeneration).toBe(1);
  });

  it('hands a granted slot to the session, and releases it when the client went away meanwhile', async () => {
    const { admission, limiter, key, request } = await setup({ HYDRA_MAX_CONNECTIONS_PER_IP: '1' });
    let aborted = false;
    const first = admission.admit(request(key), () => aborted);
    aborted = true; // the client disconnects while its key and slot are looked up
    expect(await first).toEqual({ kind: 'abandoned' });
    // The slot came back: the IP's only slot can be taken again, and is held by the admitted session.
    const second = await admission.admit(request(key), () => false);
    expect(second.kind === 'upgrade' && second.session.slotHeld).toBe(true);
    expect((await limiter.acquire('10.0.0.1')).granted).toBe(false);
  });

  it('refuses an IP the limiter just refused from memory, without asking the limiter again', async () => {
    const { admission, key, request, decisions } = await setup({ HYDRA_MAX_CONNECTIONS_PER_IP: '1' });
    expect((await admission.admit(request(key), () => false)).kind).toBe('upgrade');
    expect(await admission.admit(request(key), () => false)).toMatchObject({ kind: 'refuse', reason: 'ip_limit' });
    expect(await admission.admit(request(key), () => false)).toMatchObject({ kind: 'refuse', reason: 'ip_limit' });
    expect(await decisions('refused')).toBe(1);
    expect(await decisions('refused_cached')).toBe(1);
  });

  it('upgrades a bad key only to tell it (no slot), then throttles the source after repeated failures', async () => {
    const { admission, request } = await setup({ HYDRA_AUTH_FAILURE_LIMIT: '3' });
    for (let i = 0; i < 3; i++) {
      const a = await admission.admit(request(generateApiKey()), () => false);
      expect(a.kind === 'upgrade' && a.session.rejection?.closeCode).toBe(1008);
      expect(a.kind === 'upgrade' && a.session.slotHeld).toBe(false);
    }
    expect(await admission.admit(request(generateApiKey()), () => false)).toMatchObject({
      kind: 'refuse',
      status: '429 Too Many Requests',
      reason: 'auth_throttled',
    });
  });

  it('in a cool-down, decides every key it can without the key store; only the others get 429', async () => {
    const { admission, key, request, backplane } = await setup({ HYDRA_AUTH_FAILURE_LIMIT: '3' });
    const reads = countReads(backplane.keys);
    const cachedValid = key;
    expect((await admission.admit(request(cachedValid, '10.0.0.9'), () => false)).kind).toBe('upgrade');
    const cachedUnknown = generateApiKey();
    for (const k of [cachedUnknown, generateApiKey(), generateApiKey()]) await admission.admit(request(k), () => false);
    const before = reads();
    const outcome = async (k: string) => {
      const a = await admission.admit(request(k), () => false);
      if (a.kind !== 'upgrade') return a.kind === 'refuse' ? a.reason : a.kind;
      return a.session.rejection?.message ?? (a.session.slotHeld ? 'admitted' : 'no slot');
    };
    expect(await outcome(cachedValid)).toBe('admitted');
    expect(await outcome(cachedUnknown)).toBe('invalid, expired, or revoked API key');
    expect(await outcome('not-a-key')).toBe('invalid, expired, or revoked API key');
    expect(await outcome('')).toBe('missing API key');
    expect(await outcome(generateApiKey())).toBe('auth_throttled');
    const uncachedValid = (await backplane.keys.create({ scopes: ['signals'] })).key;
    expect(await outcome(uncachedValid)).toBe('auth_throttled');
    expect(reads() - before).toBe(0);
  });
});

/** Counts key-store lookups (wraps `lookup` in place). */
function countReads(store: KeyStore): () => number {
  let reads = 0;
  const lookup = store.lookup.bind(store);
  store.lookup = (key) => {
    reads++;
    return lookup(key);
  };
  return () => reads;
}
