import { parseIngestBody, SCOPES, type Scope } from '@hydra/protocol';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type RedisTopology, type ShardReading, shardFigures } from '../src/redis-topology.js';
import { mixedScopeBatch, parseTopologyArgs } from '../src/topology.js';

describe('the topology mode', () => {
  it('sends batches the ingest server takes whole: 1,000 valid events, 200 per scope, log ids unique across batches', () => {
    const ids = new Set<string>();
    for (const k of [0, 1]) {
      const parsed = parseIngestBody(mixedScopeBatch('lane', k), 'application/x-ndjson');
      if (parsed.kind !== 'batch') throw new Error(parsed.reason);
      const refused = parsed.results.filter((r) => !r.ok);
      expect(refused).toEqual([]);
      const perScope = new Map<Scope, number>();
      for (const r of parsed.results) {
        if (!r.ok) continue;
        perScope.set(r.event.scope, (perScope.get(r.event.scope) ?? 0) + 1);
        if (r.event.scope === 'alerts') ids.add(String((r.event.data as { id: string }).id));
      }
      expect(Object.fromEntries(perScope)).toEqual(Object.fromEntries(SCOPES.map((s) => [s, 200])));
    }
    // A repeated log id would be answered as a duplicate and never stored: the dedupe would hide the load.
    expect(ids.size).toBe(400);
  });

  it('charges each shard its own CPU over the events stored in the scopes it holds', () => {
    const a = '127.0.0.1:1';
    const b = '127.0.0.1:2';
    const c = '127.0.0.1:3';
    const placement = { signals: b, aircraft: c, vessels: b, alerts: a, cyber: b } as Record<Scope, string>;
    const shard = (address: string) => ({ address, pid: 0, client: null as unknown as Redis });
    const t: RedisTopology = {
      name: 'cluster',
      label: '3-master cluster',
      env: {},
      target: { mode: 'cluster', nodes: [], auth: {}, tls: undefined },
      shards: [shard(a), shard(b), shard(c)],
      placement,
    };
    const reading = (cpuS: number, seqs: Array<[Scope, number]>): ShardReading => ({ cpuS, seqs: new Map(seqs) });
    const before = [
      reading(1, [['alerts', 100]]),
      reading(2, [
        ['signals', 0],
        ['vessels', 50],
        ['cyber', 0],
      ]),
      reading(3, [['aircraft', 0]]),
    ];
    const after = [
      reading(1.01, [['alerts', 1100]]),
      reading(2.03, [
        ['signals', 1000],
        ['vessels', 1050],
        ['cyber', 1000],
      ]),
      reading(3.5, [['aircraft', 0]]),
    ];
    const figures = shardFigures(t, before, after);
    expect(figures.map((x) => x.events)).toEqual([1000, 3000, 0]);
    expect(figures[0]!.cpuUsPerEvent).toBeCloseTo(10);
    expect(figures[1]!.cpuUsPerEvent).toBeCloseTo(10);
    expect(figures[1]!.scopes).toEqual(['signals', 'vessels', 'cyber']);
    // A shard that stored nothing has no cost per event, only its CPU.
    expect(figures[2]!.cpuUsPerEvent).toBeNaN();
    expect(figures[2]!.cpuUs).toBeCloseTo(500_000);
  });

  it('takes its options and refuses what it does not know', () => {
    expect(parseTopologyArgs(['--topology', '--topology-seconds', '3', '--publishers', '1,2,4'])).toMatchObject({
      seconds: 3,
      publishers: [1, 2, 4],
      clients: 200,
      deliveryRate: 500,
    });
    expect(() => parseTopologyArgs(['--topology', '--ingest-seconds', '3'])).toThrow(
      /unknown argument --ingest-seconds/,
    );
    expect(() => parseTopologyArgs(['--publishers', '0'])).toThrow(/positive integers/);
  });
});
