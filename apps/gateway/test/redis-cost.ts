import type { TestRedis } from '@hydra/test-support';

/** Calls per Redis command name, from `INFO commandstats`. */
export async function commandCalls(redis: TestRedis): Promise<Map<string, number>> {
  const client = redis.client();
  try {
    const text = await client.info('commandstats');
    const calls = new Map<string, number>();
    for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1] ?? '', Number(match[2]));
    return calls;
  } finally {
    await client.quit().catch(() => undefined);
  }
}

/** Commands issued between two `commandCalls` readings, without the readings' own INFO and connection setup. */
export function commandsBetween(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0;
  for (const [name, calls] of after) {
    if (name === 'info' || name === 'client|setinfo' || name === 'quit' || name.startsWith('client')) continue;
    total += calls - (before.get(name) ?? 0);
  }
  return total;
}

/** One sample value of a gateway's /metrics (0 when absent). */
export async function metricValue(adminPort: number, sample: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}
