import { type Backplane, createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import { SCOPES } from '@hydra/protocol';
import { startRedis, type TestRedis } from '@hydra/test-support';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestServer, type IngestServer } from '../src/ingest-server.js';
import { createLogger } from '../src/logger.js';
import { bearer, httpRequest } from './http-client.js';

/**
 * Fuzzing the real ingest HTTP server (node:http, Redis behind it) with
 * random bodies, content types and encodings: every answer is 200, 400, 413
 * or 415 — never a 5xx — the server keeps answering, and no promise
 * rejection goes unhandled.
 */
const TOKEN = 'fuzz-ingest-token-0123456789';
const LIMIT = 16 * 1024;

let redis: TestRedis;
let backplane: Backplane;
let ingest: IngestServer;
let port: number;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  redis = await startRedis();
  backplane = createBackplane({ kind: 'redis', url: redis.url, retention: DEFAULT_RETENTION });
  ingest = createIngestServer({
    backplane,
    // Throttle off: the 401 property below sends 100 wrong tokens from one source (the throttle is tested in main-process.test.ts).
    config: { ingestToken: TOKEN, maxBodyBytes: LIMIT, authFailureLimit: 0 },
    logger: createLogger({ level: 'silent' }),
    registry: new Registry(),
  });
  port = (await ingest.listen(0, '127.0.0.1')).port;
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await ingest?.close();
  await backplane?.close();
  await redis?.stop();
});

const value = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 16 }),
  fc.constantFrom(null, true, '', 'ground', '\u0000', '__proto__'),
  fc.jsonValue({ maxDepth: 2 }),
);
const item = fc.record(
  {
    scope: fc.oneof(fc.constantFrom(...SCOPES), fc.string({ maxLength: 8 })),
    op: fc.constantFrom('upsert', 'delete', 'nope'),
    data: fc.oneof(
      fc.record(
        { id: fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), value), lat: value, lon: value, kind: value },
        { requiredKeys: [] },
      ),
      fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 6 }),
      value,
    ),
  },
  { requiredKeys: ['scope'] },
);
const line = fc.oneof(
  item.map((i) => JSON.stringify(i)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 40 }),
);
/** Items the validator accepts, so a share of the batches is stored (200) or partly stored (400). */
const validItem = fc.oneof(
  fc.record({ scope: fc.constant('signals'), data: fc.dictionary(fc.string({ maxLength: 8 }), fc.string()) }),
  fc.record({
    scope: fc.constantFrom('aircraft', 'vessels'),
    data: fc.record({ id: fc.string({ minLength: 1, maxLength: 10 }), lat: fc.double({ min: -90, max: 90 }) }),
  }),
);
const body: fc.Arbitrary<Buffer> = fc.oneof(
  fc.array(validItem, { minLength: 1, maxLength: 20 }).map((items) => Buffer.from(JSON.stringify(items))),
  fc
    .array(fc.oneof(validItem, item), { minLength: 1, maxLength: 20 })
    .map((items) => Buffer.from(items.map((i) => JSON.stringify(i)).join('\n'))),
  fc.array(item, { maxLength: 30 }).map((items) => Buffer.from(JSON.stringify(items))),
  item.map((i) => Buffer.from(JSON.stringify(i))),
  fc.array(line, { maxLength: 30 }).map((lines) => Buffer.from(lines.join('\n'))),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc.uint8Array({ maxLength: 2000 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
  fc.integer({ min: LIMIT - 10, max: LIMIT + 10 }).map((n) => Buffer.alloc(n, 0x20)),
  fc.constant(Buffer.from(`[${'{"scope":"signals","data":{}},'.repeat(600)}1]`)), // over the limit
);
const headers = fc
  .tuple(
    fc.option(
      fc.constantFrom(
        'application/json',
        'application/x-ndjson',
        'application/ndjson; charset=utf-8',
        'text/plain',
        'multipart/form-data; boundary=x',
        '',
      ),
      { nil: undefined },
    ),
    fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 8 },
      { arbitrary: fc.constantFrom('identity', 'gzip', 'br', 'x-nonsense'), weight: 2 },
    ),
  )
  .map(([type, encoding]) => ({
    ...(type === undefined ? {} : { 'content-type': type }),
    ...(encoding === undefined ? {} : { 'content-encoding': encoding }),
  }));

describe('ingest under fuzzing', () => {
  it('answers every random body 200, 400, 413 or 415, never 5xx, and stays up', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, headers, async (payload, extra) => {
        const reply = await httpRequest(port, {
          method: 'POST',
          path: '/v1/events',
          headers: { ...bearer(TOKEN), ...extra },
          body: payload,
        });
        seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
        expect([200, 400, 413, 415]).toContain(reply.status);
        const parsed = reply.json() as Record<string, unknown>;
        if (reply.status === 400 && 'rejected' in parsed) {
          for (const r of parsed['rejected'] as { reason: string }[]) expect(r.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 250 },
    );
    // Still serving, and nothing rejected unhandled along the way.
    expect((await httpRequest(port, { path: '/healthz' })).status).toBe(200);
    const ok = await httpRequest(port, {
      method: 'POST',
      path: '/v1/events',
      headers: bearer(TOKEN),
      body: JSON.stringify({ scope: 'signals', data: { kind: 'rf', label: 'after the fuzz' } }),
    });
    expect(ok.status).toBe(200);
    expect(unhandled).toEqual([]);
    console.log(`[figures] ingest fuzz: 250 random requests → ${JSON.stringify(Object.fromEntries(seen))}`);
  }, 60_000);

  it('answers any Authorization header that is not the token 401, in constant work', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 80 }).filter((s) => /^[\t\x20-\x7e]*$/.test(s)),
          fc.constant(`Bearer ${TOKEN} `.repeat(2)),
          fc.constant(`Bearer ${TOKEN.slice(0, -1)}`),
          fc.constant(`bearer  ${TOKEN}x`),
        ),
        async (authorization) => {
          const reply = await httpRequest(port, {
            method: 'POST',
            path: '/v1/events',
            headers: { authorization },
            body: '{}',
          });
          expect(reply.status).toBe(401);
        },
      ),
      { numRuns: 100 },
    );
  });
});
