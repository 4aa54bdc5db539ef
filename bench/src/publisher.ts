/**
 * Rate-controlled publisher (forked by the orchestrator). Every target gets
 * the same payloads through the same Redis: Hydra through its backplane
 * (publish.lua), Socket.IO through @socket.io/redis-emitter, the bare uWS and
 * ws gateways through a plain PUBLISH on `bench:<scope>`, soketi through its
 * HTTP API (its other node receives them over its Redis adapter).
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createBackplane, parseRetention } from '@hydra/backplane';
import { readRedisTarget } from '@hydra/config';
import type { IngestEvent, Scope } from '@hydra/protocol';
import { peersDir } from './paths.js';
import { makeAircraftPayload, makePayload } from './payload.js';
import type { PublisherEvent, PublishPlan } from './protocol.js';

type Sender = (events: Array<{ scope: number; counter: number }>) => Promise<void>;

const send = (m: PublisherEvent) => process.send?.(m);
/** Set by a `stop` command: the running plan ends at its next tick. */
let stopRequested = false;
const peerRequire = createRequire(`${peersDir}/package.json`);
/** Events per soketi batch_events request (its SOKETI_EVENT_MAX_BATCH_SIZE is set to this in targets.ts). */
const SOKETI_BATCH = 100;

interface RedisLike {
  pipeline(): { publish(ch: string, msg: string): unknown; exec(): Promise<unknown> };
  quit(): Promise<unknown>;
}

/** POSTs a JSON body on loopback; resolves on 200, rejects otherwise. */
function postJson(agent: http.Agent, port: number, path: string, body: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function makeSender(plan: PublishPlan): Promise<{ send: Sender; close: () => Promise<void> }> {
  const names = plan.scopeNames;
  const id = (scope: number, counter: number) =>
    plan.entities > 0 ? `e${counter % plan.entities}` : `s${scope}-${counter}`;
  switch (plan.target) {
    case 'hydra': {
      const retention = parseRetention(plan.retention);
      const target = plan.redisEnv === undefined ? undefined : readRedisTarget(plan.redisEnv);
      const bp = createBackplane(
        target === undefined ? { kind: 'redis', url: plan.redisUrl, retention } : { kind: 'redis', target, retention },
      );
      return {
        send: async (events) => {
          const batch: IngestEvent[] = events.map((e) => ({
            scope: names[e.scope] as Scope,
            data:
              plan.payloadKind === 'aircraft'
                ? makeAircraftPayload(id(e.scope, e.counter), e.scope, e.counter)
                : { ...makePayload(id(e.scope, e.counter), e.scope, e.counter, plan.payloadBytes) },
          }));
          await bp.bus.publish(batch);
        },
        close: () => bp.close(),
      };
    }
    case 'sio': {
      const Redis = peerRequire('ioredis');
      const { Emitter } = peerRequire('@socket.io/redis-emitter');
      const redis = new Redis(plan.redisUrl);
      const emitter = new Emitter(redis);
      return {
        send: async (events) => {
          for (const e of events) {
            const name = names[e.scope] as string;
            emitter.to(name).emit(name, makePayload(id(e.scope, e.counter), e.scope, e.counter, plan.payloadBytes));
          }
        },
        close: async () => {
          await redis.quit();
        },
      };
    }
    case 'raw': {
      const Redis = peerRequire('ioredis');
      const redis: RedisLike = new Redis(plan.redisUrl);
      return {
        send: async (events) => {
          const p = redis.pipeline();
          for (const e of events) {
            const payload = makePayload(id(e.scope, e.counter), e.scope, e.counter, plan.payloadBytes);
            p.publish(`bench:${names[e.scope]}`, JSON.stringify(payload));
          }
          await p.exec();
        },
        close: async () => {
          await redis.quit();
        },
      };
    }
    case 'centrifuge': {
      // One burst is one POST to the API node, which publishes the events in
      // order through the Redis broker (concurrent publishes could reorder).
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const post = (body: string) => postJson(agent, plan.httpPort ?? 0, '/publish', body);
      return {
        send: async (events) => {
          const items = events.map((e) => ({
            channel: names[e.scope] as string,
            data: makePayload(id(e.scope, e.counter), e.scope, e.counter, plan.payloadBytes),
          }));
          await post(JSON.stringify(items));
        },
        close: async () => agent.destroy(),
      };
    }
    case 'pusher': {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const post = (body: string) => {
        const path = '/apps/app-id/batch_events';
        const params = `auth_key=app-key&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&body_md5=${createHash('md5').update(body).digest('hex')}`;
        const sig = createHmac('sha256', 'app-secret').update(`POST\n${path}\n${params}`).digest('hex');
        return postJson(agent, plan.httpPort ?? 0, `${path}?${params}&auth_signature=${sig}`, body);
      };
      // One burst is one signed batch_events request (the pipeline of the other
      // targets), split at SOKETI_BATCH events (the node is started with that limit).
      return {
        send: async (events) => {
          const posts: Array<Promise<void>> = [];
          for (let i = 0; i < events.length; i += SOKETI_BATCH) {
            const batch = events.slice(i, i + SOKETI_BATCH).map((e) => {
              const name = names[e.scope] as string;
              const data = JSON.stringify(makePayload(id(e.scope, e.counter), e.scope, e.counter, plan.payloadBytes));
              return { name, channel: name, data };
            });
            posts.push(post(JSON.stringify({ batch })));
          }
          await Promise.all(posts);
        },
        close: async () => agent.destroy(),
      };
    }
  }
}

async function run(plan: PublishPlan): Promise<void> {
  stopRequested = false;
  const sender = await makeSender(plan);
  const published = plan.scopeNames.map(() => 0);
  let errors = 0;
  let sent = 0;
  let rr = 0;
  const start = performance.now();
  // Events due are sent every burstMs as one pipelined burst (the same pattern for every target).
  const tickMs = plan.burstMs ?? 20;
  let busy = false;
  const inflight = () => busy;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      if (elapsed >= plan.durationMs || stopRequested) {
        clearInterval(timer);
        resolve();
        return;
      }
      if (busy) return;
      const due = Math.min(5000, Math.floor((plan.rate * elapsed) / 1000) - sent);
      if (due <= 0) return;
      const events: Array<{ scope: number; counter: number }> = [];
      for (let i = 0; i < due; i++) {
        const scope = plan.scopes[rr++ % plan.scopes.length] as number;
        published[scope] = (published[scope] ?? 0) + 1;
        events.push({ scope, counter: published[scope] as number });
      }
      sent += due;
      busy = true;
      sender
        .send(events)
        .catch(() => {
          errors += events.length;
        })
        .finally(() => {
          busy = false;
        });
    }, tickMs);
  });
  // let the last burst reach Redis (bounded)
  const settleBy = performance.now() + 2000;
  while (inflight() && performance.now() < settleBy) await new Promise((r) => setTimeout(r, 10));
  send({ ev: 'done', published, ms: performance.now() - start, errors });
  await sender.close().catch(() => undefined);
}

process.on('message', (m: PublishPlan | { cmd: 'stop' }) => {
  if (m.cmd === 'stop') stopRequested = true;
  else if (m.cmd === 'publish') {
    run(m).catch((err: unknown) => {
      console.error('publisher failed', err);
      send({ ev: 'done', published: [], ms: 0, errors: -1 });
    });
  }
});
process.on('disconnect', () => process.exit(0));
send({ ev: 'ready' });
