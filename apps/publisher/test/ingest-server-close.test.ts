import { createBackplane, DEFAULT_RETENTION } from '@hydra/backplane';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createIngestServer } from '../src/ingest-server.js';
import { createLogger } from '../src/logger.js';
import { httpRequest } from './http-client.js';

describe('IngestServer.close', () => {
  it('finishes an in-flight request, refuses new connections, and is idempotent', async () => {
    const backplane = createBackplane({ kind: 'memory', retention: DEFAULT_RETENTION });
    const ingest = createIngestServer({
      backplane,
      config: { ingestToken: undefined, maxBodyBytes: 1 << 20 },
      logger: createLogger({ level: 'silent' }),
      registry: new Registry(),
    });
    const { port, address } = await ingest.listen(0);
    // Without a token, ingest is unauthenticated and therefore bound to loopback.
    expect(address).toBe('127.0.0.1');

    // A request whose body is still arriving when close() is called.
    const received = new Promise((resolve) => ingest.server.once('request', resolve));
    let finishBody = () => {};
    let started = () => {};
    const bodyStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const inflight = httpRequest(port, {
      method: 'POST',
      path: '/v1/events',
      headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' },
      body: (write, end) => {
        write(Buffer.from('{"scope":"signals","data":{"n":1}}\n'));
        finishBody = () => {
          write(Buffer.from('{"scope":"signals","data":{"n":2}}\n'));
          end();
        };
        started();
      },
    });
    await bodyStarted;
    await received;

    let closed = false;
    const closing = ingest.close().then(() => {
      closed = true;
    });
    expect(ingest.close()).toBe(ingest.close());
    // Still waiting for the in-flight request (a short look, not a synchronisation).
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    await expect(httpRequest(port, { path: '/healthz' })).rejects.toThrow(/ECONNREFUSED/);

    finishBody();
    const reply = await inflight;
    expect(reply.status).toBe(200);
    expect(reply.json().accepted).toBe(2);
    expect(reply.headers.connection).toBe('close');
    await closing;
    expect((await backplane.snapshots.read('signals')).seq).toBe(2);
    await backplane.close();
  });
});
