import { SCOPES, type Scope } from '@hydra/protocol';
import { type GatewayProcess, ScopeTracker, type StreamClient } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamFixture, withKey } from './fixture.js';

const STORM_MS = 8000;
const CLIENTS = 16;

/**
 * The concurrency test: a publisher storm across all scopes while
 * clients connect, disconnect and resume on the other gateway, and one
 * gateway is SIGKILLed and restarted. Every client's view (snapshot + replay
 * + live) must equal the published log: no gap, no duplicate, in order.
 */
describe('nothing lost across reconnects under a publisher storm', () => {
  let f: StreamFixture;

  beforeAll(async () => {
    f = await StreamFixture.start();
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('keeps every client view exact while gateways die and clients resume anywhere', async () => {
    const gateways: (GatewayProcess | null)[] = await Promise.all([f.gateway(), f.gateway()]);
    const k = await f.key([...SCOPES]);
    const lastPublished = new Map<Scope, number>();
    let storming = true;
    let published = 0;

    const storm = (async () => {
      const started = performance.now();
      for (let i = 0; storming && performance.now() - started < STORM_MS + 5000; i++) {
        const batch = SCOPES.flatMap((scope) =>
          Array.from({ length: 10 }, (_, j) => ({
            scope,
            data:
              scope === 'aircraft' || scope === 'vessels'
                ? { id: `${scope}-${(i * 10 + j) % 200}`, n: i }
                : { n: i, j },
          })),
        );
        for (const p of await f.backplane.bus.publish(batch)) lastPublished.set(p.scope, p.seq);
        published += batch.length;
      }
    })();

    const liveUrls = () => gateways.filter((g): g is GatewayProcess => g !== null).map((g) => g.url);
    const trackers = Array.from({ length: CLIENTS }, () => new ScopeTracker());
    const sessionsOpened = { count: 0, resumed: 0 };
    const runClient = async (index: number) => {
      const tracker = trackers[index] as ScopeTracker;
      let hop = index;
      const deadline = performance.now() + STORM_MS;
      while (performance.now() < deadline) {
        const urls = liveUrls();
        const url = urls[hop++ % urls.length] as string;
        const resume = tracker.resumeParam();
        if (resume) sessionsOpened.resumed++;
        const c: StreamClient = f.client(withKey(url, k.key, resume ? `&resume=${resume}` : ''), {
          localAddress: `127.0.50.${index + 1}`,
        });
        sessionsOpened.count++;
        const stayMs = 200 + ((index * 137 + hop * 59) % 800);
        await Promise.race([c.closed, new Promise((r) => setTimeout(r, stayMs))]);
        if (c.closeCode === null) await c.close();
        for (const m of c.messages) tracker.apply(m);
      }
    };
    const chaos = (async () => {
      await new Promise((r) => setTimeout(r, STORM_MS / 3));
      const victim = gateways[0] as GatewayProcess;
      gateways[0] = null;
      victim.kill('SIGKILL');
      await victim.exited;
      await new Promise((r) => setTimeout(r, STORM_MS / 6));
      gateways[0] = await f.gateway();
    })();

    await Promise.all([...trackers.map((_, i) => runClient(i)), chaos]);
    storming = false;
    await storm;

    // Final catch-up: every client resumes once more and must reach the last published seq of every scope.
    await Promise.all(
      trackers.map(async (tracker, index) => {
        const c = f.client(withKey(liveUrls()[index % 2] as string, k.key, `&resume=${tracker.resumeParam()}`), {
          localAddress: `127.0.50.${index + 1}`,
        });
        await c.until(
          () =>
            SCOPES.every(
              (s) =>
                c.messages.some((m) => m.type === s && m.seq === lastPublished.get(s)) ||
                tracker.last.get(s) === lastPublished.get(s),
            ),
          20_000,
          'the last published event of every scope',
        );
        await c.close();
        for (const m of c.messages) tracker.apply(m);
      }),
    );

    expect(published).toBeGreaterThan(5000);
    expect(sessionsOpened.resumed).toBeGreaterThan(CLIENTS * 3);
    for (const tracker of trackers) {
      expect(tracker.problems).toEqual([]);
      expect(tracker.resyncs).toEqual([]);
      for (const scope of SCOPES) {
        const first = tracker.firstSnapshot.get(scope) as number;
        const expected = Array.from({ length: (lastPublished.get(scope) as number) - first }, (_, i) => first + 1 + i);
        expect(tracker.seen.get(scope) ?? []).toEqual(expected);
      }
    }
  }, 90_000);
});
