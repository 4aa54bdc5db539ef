import { describe, expect, it } from 'vitest';
import { HEARTBEAT_TOPIC, HeartbeatTopic } from './heartbeat-topic.js';
import { parseStreamQuery } from './stream-query.js';

describe('HeartbeatTopic', () => {
  it('publishes one heartbeat frame to the topic per beat, only while someone listens', () => {
    const published: [string, string][] = [];
    let subscribers = 0;
    const app = {
      publish: (topic: string, frame: string) => {
        published.push([topic, frame]);
        return true;
      },
      numSubscribers: () => subscribers,
    };
    const topic = new HeartbeatTopic(app as never, 15_000, undefined, () => 1710000000000);
    topic.beat();
    expect(published).toEqual([]);
    subscribers = 3;
    topic.beat();
    expect(published).toEqual([
      [HEARTBEAT_TOPIC, '{"type":"heartbeat","data":{"ts":1710000000000,"intervalMs":15000}}'],
    ]);
  });

  it('is asked for with heartbeat=true (or 1, yes) only: default off', () => {
    expect(parseStreamQuery('apiKey=k')?.heartbeat).toBe(false);
    expect(parseStreamQuery('apiKey=k&heartbeat=false')?.heartbeat).toBe(false);
    for (const yes of ['true', 'TRUE', '1', 'yes']) expect(parseStreamQuery(`heartbeat=${yes}`)?.heartbeat).toBe(true);
  });
});
