import { type Backplane, createBackplane, parseRetention } from '@hydra/backplane';
import { readRedisTarget } from '@hydra/config';
import { SCOPES } from '@hydra/protocol';
import {
  type GatewayProcess,
  startGatewayProcess,
  startRedisSentinel,
  type TestRedisSentinel,
} from '@hydra/test-support';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  cutReplication,
  describeFailover,
  expectFailoverOutcome,
  failoverUnderLoad,
  replicaPortsOf,
  withGatewayLogsOnFailure,
} from './failover-under-load.js';
import { type PublisherProcess, startPublisherProcess } from './fault-helpers.js';

/**
 * History that keeps every event of the test (the surviving sequence is read
 * from seq 1) and entities that outlive it (no expiry removal mid-test).
 */
const RETENTION = [...SCOPES.map((s) => `${s}:history=100000`), 'aircraft:ttl=3600000', 'vessels:ttl=3600000'].join(
  ',',
);

/**
 * Gateways and a publisher on Sentinel (HYDRA_REDIS_SENTINELS) while the
 * publisher streams ≥ 1,000 events/s over every scope and the primary is
 * SIGKILLed; every client's view is judged against the acknowledged log and
 * the sequence that survived (failover-under-load.ts). One topology per
 * case; the primary holds every scope, so every scope is affected.
 */
describe.each([
  {
    minReplicas: 1,
    lagging: false,
    setting: '1',
    proves:
      'every acknowledged event reaches every client exactly once, in order; a resync only if Sentinel fails over again, taking back only unacknowledged events',
  },
  {
    minReplicas: 1,
    lagging: true,
    setting: '1',
    proves:
      'replicas cut off before the kill: nothing acknowledged is lost (503 instead); what clients had of the rest shows as resync stream_reset',
  },
  {
    minReplicas: 0,
    lagging: true,
    setting: '0',
    proves:
      'replicas cut off before the kill: the acknowledged events lost show only as resync stream_reset, never as a gap or a wrong event',
  },
  // `setting` names the case: vitest prints a 0 given as a number as "+0".
])('Sentinel failover under load, HYDRA_INGEST_MIN_REPLICAS=$setting', ({ minReplicas, lagging, proves }) => {
  let sentinel: TestRedisSentinel;
  let backplane: Backplane;
  let gateways: GatewayProcess[] = [];
  let publisher: PublisherProcess | undefined;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    const env = { ...sentinel.env, HYDRA_RETENTION: RETENTION };
    backplane = createBackplane({ kind: 'redis', target: readRedisTarget(env)!, retention: parseRetention(RETENTION) });
    gateways = [
      await startGatewayProcess({ ...env, HYDRA_DRAIN_MS: '200' }),
      await startGatewayProcess({ ...env, HYDRA_DRAIN_MS: '200' }),
    ];
    publisher = await startPublisherProcess({ ...env, HYDRA_INGEST_MIN_REPLICAS: String(minReplicas) });
  }, 90_000);

  afterAll(async () => {
    await publisher?.stop();
    await Promise.all(gateways.map((g) => g.stop()));
    await backplane?.close();
    await sentinel?.stop();
  });

  it(proves, async () => {
    const { key } = await backplane.keys.create({ scopes: [...SCOPES], name: 'sentinel-failover' });
    const report = await failoverUnderLoad({
      gateways,
      apiKey: key,
      ingestUrl: publisher!.ingestUrl,
      backplane,
      retention: parseRetention(RETENTION),
      clientAddressPrefix: '127.0.75.',
      lagReplicas: lagging
        ? async () => {
            const primary = await sentinel.primaryClient();
            return cutReplication(
              primary,
              (await replicaPortsOf(primary)).map((port) => sentinel.nodeClient(port)),
            );
          }
        : undefined,
      kill: async () => (await sentinel.killPrimary()).failoverMs,
    });
    const label = `sentinel failover, HYDRA_INGEST_MIN_REPLICAS=${minReplicas}${lagging ? ', replicas cut off' : ''}`;
    console.log(describeFailover(label, report));
    withGatewayLogsOnFailure(gateways, () => expectFailoverOutcome(report, { minReplicas, lagging, affected: SCOPES }));
  }, 90_000);
});
