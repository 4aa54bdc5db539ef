import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type EventData,
  encodeConnectedFrame,
  encodeErrorFrame,
  encodeEventFrame,
  encodeSnapshotFrame,
  type Scope,
} from '@hydra/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { ExitCode } from '../src/exit-code.js';
import { runTail, type TailOptions, type TailOutput } from '../src/tail/index.js';

const KEY = 'hydra_k1_test-key-for-tail';
const TS = Date.UTC(2025, 0, 1, 12, 0, 1);
const AIRCRAFT = {
  id: '4ca2d1',
  icao24: '4ca2d1',
  callsign: 'EIN123',
  lat: 53.4213,
  lon: -6.2701,
  altBaroFt: 37000,
  groundSpeedKt: 450,
};
const VESSEL = { id: '250123456', mmsi: '250123456', name: 'CELTIC DAWN', lat: 53.34, lon: -6.05, sogKt: 12 };

/** A snapshot in one part (its ts unknown: 0), as the gateway's builder writes it. */
const encodeSnapshot = (scope: Scope, seq: number, items: readonly EventData[]) =>
  encodeSnapshotFrame(
    scope,
    seq,
    0,
    1,
    1,
    items.map((item) => JSON.stringify(item)),
  );
const encodeScopeEvent = (scope: Scope, seq: number, ts: number, data: EventData) =>
  encodeEventFrame(scope, seq, ts, JSON.stringify(data));

/** Collects what tail writes; tests await a condition on it (no sleeps). */
class Collector implements TailOutput {
  text = '';
  readonly #waiters = new Set<() => void>();

  write(chunk: string): boolean {
    this.text += chunk;
    for (const w of this.#waiters) w();
    return true;
  }

  lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }

  until(pattern: string | RegExp, timeoutMs = 5_000): Promise<void> {
    const matches = () => (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text));
    if (matches()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for ${String(pattern)}; got:\n${this.text}`));
      }, timeoutMs);
      const check = () => {
        if (!matches()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }
}

interface TestServer {
  url: string;
  connections: { ws: WebSocket; req: IncomingMessage }[];
  closes: number[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];

/**
 * A stand-in gateway on port 0: `onConnection` plays a script per
 * connection (its index counts from 0); `reject` answers the upgrade with
 * an HTTP status instead.
 */
async function startServer(
  options: { onConnection?: (ws: WebSocket, index: number) => void; reject?: number } = {},
): Promise<TestServer> {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    verifyClient:
      options.reject === undefined ? undefined : (_info, done) => done(false, options.reject, 'Rejected by test'),
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const server: TestServer = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/stream`,
    connections: [],
    closes: [],
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on('connection', (ws, req) => {
    const index = server.connections.length;
    server.connections.push({ ws, req });
    ws.on('close', (code) => server.closes.push(code));
    options.onConnection?.(ws, index);
  });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function tailOptions(url: string, overrides: Partial<TailOptions> = {}) {
  const out = new Collector();
  const err = new Collector();
  const controller = new AbortController();
  const options: TailOptions = {
    url,
    key: KEY,
    out,
    err,
    isTTY: false,
    signal: controller.signal,
    rateIntervalMs: 0,
    backoff: { initialMs: 20, maxMs: 200 },
    ...overrides,
  };
  return { options, out, err, controller };
}

describe('runTail against a WebSocket server', () => {
  it('prints connected, snapshot summaries and events; on a seq gap resumes and shows the missed events; exits 3 on close 1008', async () => {
    const server = await startServer({
      onConnection: (ws, index) => {
        ws.send(encodeConnectedFrame(['aircraft', 'vessels'], TS));
        if (index === 0) {
          ws.send(encodeSnapshot('aircraft', 10, [AIRCRAFT, { ...AIRCRAFT, id: '4ca2d2' }, { id: 'x' }]));
          ws.send(encodeSnapshot('vessels', 5, []));
          ws.send(encodeScopeEvent('aircraft', 11, TS, AIRCRAFT));
          ws.send(encodeScopeEvent('vessels', 6, TS, VESSEL));
          ws.send(encodeScopeEvent('aircraft', 14, TS, AIRCRAFT)); // 12 and 13 never came
          return;
        }
        // The resumed connection replays what the first one skipped.
        for (const seq of [12, 13, 14])
          ws.send(encodeScopeEvent('aircraft', seq, TS, { ...AIRCRAFT, altBaroFt: seq * 1000 }));
        ws.send(encodeErrorFrame('unauthorized', 'API key revoked'));
        ws.close(1008, 'unauthorized');
      },
    });
    const { options, out, err } = tailOptions(server.url);

    const code = await runTail(options);

    expect(code).toBe(ExitCode.Unauthorized);
    expect(err.text).toContain('hydra: unauthorized: API key revoked');
    expect(out.lines().map((l) => l.slice(9))).toEqual([
      `connected ${server.url} scopes=aircraft,vessels`,
      'snapshot aircraft seq=10 items=3',
      'snapshot vessels seq=5 items=0',
      'aircraft #11 4ca2d1 EIN123 53.42,-6.27 FL370 450kt',
      'vessels #6 250123456 CELTIC DAWN 53.34,-6.05 12.0kt',
      `connected ${server.url} scopes=aircraft,vessels`,
      'aircraft #12 4ca2d1 EIN123 53.42,-6.27 FL120 450kt',
      'aircraft #13 4ca2d1 EIN123 53.42,-6.27 FL130 450kt',
      'aircraft #14 4ca2d1 EIN123 53.42,-6.27 FL140 450kt',
    ]);
    expect(out.lines()[3]).toBe('12:00:01 aircraft #11 4ca2d1 EIN123 53.42,-6.27 FL370 450kt');
    expect(err.text).toMatch(/disconnected: seq gap in aircraft: 14 after 11; reconnecting in 0ms/);
    expect(out.text + err.text).not.toContain('\u001b[');
    // The key goes in the x-api-key header, never in the URL; the snapshot is requested by default.
    const { req } = server.connections[0]!;
    expect(req.headers['x-api-key']).toBe(KEY);
    expect(req.url).toBe('/v1/stream');
    expect(server.connections[1]!.req.url).toBe(
      `/v1/stream?resume=${encodeURIComponent(`aircraft:11:${TS},vessels:6:${TS}`)}`,
    );
  });

  it('exits 3 with the close reason when the server sends no error message', async () => {
    const server = await startServer({ onConnection: (ws) => ws.close(1008, 'unauthorized') });
    const { options, err } = tailOptions(server.url);
    expect(await runTail(options)).toBe(ExitCode.Unauthorized);
    expect(err.text).toContain('unauthorized: unauthorized');
  });

  it('exits 4 when the upgrade is answered 429', async () => {
    const server = await startServer({ reject: 429 });
    const { options, err, out } = tailOptions(server.url);
    expect(await runTail(options)).toBe(ExitCode.TooManyConnections);
    expect(err.text).toContain('too many connections from this IP');
    expect(out.text).toBe('');
  });

  it('exits 2 when the URL answers 404', async () => {
    const server = await startServer({ reject: 404 });
    const { options, err } = tailOptions(server.url.replace('/v1/stream', '/v1/nope'));
    expect(await runTail(options)).toBe(ExitCode.Usage);
    expect(err.text).toMatch(/not found \(HTTP 404\)/);
  });

  it('reconnects after close 1001, resumes where it stopped, and continues; Ctrl-C then exits 0', async () => {
    const server = await startServer({
      onConnection: (ws, index) => {
        ws.send(encodeConnectedFrame(['aircraft', 'vessels'], TS));
        if (index === 0) {
          ws.send(encodeSnapshot('aircraft', 7, []));
          ws.send(encodeSnapshot('vessels', 3, []));
          ws.send(encodeScopeEvent('aircraft', 8, TS, AIRCRAFT));
          ws.close(1001, 'server going away');
        } else {
          // Resumed: the missed events are replayed, no snapshot.
          ws.send(encodeScopeEvent('aircraft', 9, TS, { ...AIRCRAFT, callsign: 'EIN456' }));
          ws.send(encodeScopeEvent('aircraft', 10, TS, { ...AIRCRAFT, callsign: 'EIN789' }));
        }
      },
    });
    const { options, out, err, controller } = tailOptions(server.url);

    const running = runTail(options);
    await out.until('aircraft #10 4ca2d1 EIN789');
    controller.abort();

    expect(await running).toBe(ExitCode.Ok);
    expect(server.connections.map((c) => c.req.url)).toEqual([
      '/v1/stream',
      `/v1/stream?resume=${encodeURIComponent(`aircraft:8:${TS},vessels:3`)}`,
    ]);
    expect(server.connections[1]!.req.headers['x-api-key']).toBe(KEY);
    expect(err.text).toMatch(/disconnected: 1001 server going away; reconnecting in \d+ms/);
    expect(err.text).not.toContain('gap');
    expect(out.text).toContain('aircraft #9 4ca2d1 EIN456');
    await expect.poll(() => server.closes).toEqual([1001, 1000]);
  });

  it('drops a refused resume position (4002) and reconnects with a fresh snapshot', async () => {
    const server = await startServer({
      onConnection: (ws, index) => {
        if (index === 1) {
          ws.send(encodeErrorFrame('bad_request', 'resume: aircraft:8 is ahead of the stream'));
          ws.close(4002, 'bad request');
          return;
        }
        ws.send(encodeConnectedFrame(['aircraft'], TS));
        ws.send(encodeSnapshot('aircraft', index === 0 ? 7 : 0, []));
        ws.send(encodeScopeEvent('aircraft', index === 0 ? 8 : 1, TS, AIRCRAFT));
        if (index === 0) ws.close(1012, 'service restart');
      },
    });
    const { options, out, err, controller } = tailOptions(server.url);

    const running = runTail(options);
    await out.until('aircraft #1 4ca2d1');
    controller.abort();

    expect(await running).toBe(ExitCode.Ok);
    expect(server.connections.map((c) => c.req.url)).toEqual([
      '/v1/stream',
      `/v1/stream?resume=aircraft%3A8%3A${TS}`,
      '/v1/stream',
    ]);
    expect(err.text).toContain('disconnected: resume refused (resume: aircraft:8 is ahead of the stream)');
    expect(err.text).not.toMatch(/gap|backwards/);
  });

  it('exits 1 on 4002 when it did not ask to resume', async () => {
    const server = await startServer({
      onConnection: (ws) => {
        ws.send(encodeErrorFrame('bad_request', 'query string too long'));
        ws.close(4002, 'bad request');
      },
    });
    const { options, err } = tailOptions(server.url);
    expect(await runTail(options)).toBe(ExitCode.Failed);
    expect(err.text).toContain('closed by the server: 4002 query string too long');
  });

  it('sums a snapshot sent in parts into one line, and restarts a scope on resync', async () => {
    const part = (n: number, items: object[], complete: boolean) =>
      JSON.stringify({ type: 'snapshot', data: { scope: 'aircraft', seq: 20, part: n, parts: 3, complete, items } });
    const server = await startServer({
      onConnection: (ws) => {
        ws.send(encodeConnectedFrame(['aircraft'], TS));
        ws.send(part(1, [AIRCRAFT, AIRCRAFT], false));
        ws.send(part(2, [AIRCRAFT], false));
        ws.send(part(3, [AIRCRAFT], true));
        ws.send(encodeScopeEvent('aircraft', 21, TS, { id: '4ca2d1', removed: true, reason: 'expired' }));
        ws.send(JSON.stringify({ type: 'resync', data: { scope: 'aircraft', reason: 'backplane_gap' } }));
        ws.send(encodeSnapshot('aircraft', 40, [AIRCRAFT]));
        ws.send(encodeScopeEvent('aircraft', 41, TS, AIRCRAFT));
        ws.close(1008, 'unauthorized');
      },
    });
    const { options, out, err } = tailOptions(server.url);
    expect(await runTail(options)).toBe(ExitCode.Unauthorized);
    expect(out.lines().map((l) => l.slice(9))).toEqual([
      `connected ${server.url} scopes=aircraft`,
      'snapshot aircraft seq=20 items=4',
      'aircraft #21 4ca2d1 removed (expired)',
      'snapshot aircraft seq=40 items=1',
      'resync aircraft (backplane_gap): restarted from the snapshot at seq=40',
      'aircraft #41 4ca2d1 EIN123 53.42,-6.27 FL370 450kt',
    ]);
    expect(err.text).not.toMatch(/gap:|backwards/);
  });

  it('reconnects after a network error with growing, capped backoff until aborted', async () => {
    const server = await startServer();
    const url = server.url;
    await server.close(); // nothing listens there any more
    const { options, err, controller } = tailOptions(url, { random: () => 0.5 });

    const running = runTail(options);
    await err.until(/(reconnecting in \d+ms[\s\S]*){5}/);
    controller.abort();

    expect(await running).toBe(ExitCode.Ok);
    const delays = [...err.text.matchAll(/reconnecting in (\d+)ms/g)].map((m) => Number(m[1]));
    expect(delays.slice(0, 5)).toEqual([10, 20, 40, 80, 100]);
    expect(err.text).toMatch(/connection lost \(.*ECONNREFUSED.*\)/);
  });

  it('asks the server for the scopes, still filters them client-side, prints raw JSON lines with --json, and asks for no snapshot', async () => {
    const frames = [
      encodeConnectedFrame(['aircraft', 'vessels'], TS),
      encodeSnapshot('aircraft', 1, []),
      encodeSnapshot('vessels', 1, [VESSEL]),
      encodeScopeEvent('aircraft', 2, TS, AIRCRAFT),
      encodeScopeEvent('vessels', 2, TS, VESSEL),
    ];
    const server = await startServer({
      onConnection: (ws) => {
        for (const frame of frames) ws.send(frame);
        ws.close(1008, 'unauthorized');
      },
    });
    const { options, out } = tailOptions(server.url, { scopes: ['vessels'], json: true, snapshot: false });

    expect(await runTail(options)).toBe(ExitCode.Unauthorized);
    expect(out.lines()).toEqual([frames[0], frames[2], frames[4]]);
    expect(server.connections[0]!.req.url).toBe('/v1/stream?snapshot=false&scopes=vessels');
  });

  it('warns about requested scopes the key does not grant (a gateway that ignores scopes=)', async () => {
    const server = await startServer({
      onConnection: (ws) => {
        ws.send(encodeConnectedFrame(['aircraft'], TS));
        ws.close(1008, 'unauthorized');
      },
    });
    const { options, err } = tailOptions(server.url, { scopes: ['aircraft', 'cyber'] });
    await runTail(options);
    expect(err.text).toContain('warning: the key does not grant cyber');
  });

  it('prints a per-scope rate line and colours scopes on a TTY', async () => {
    const server = await startServer({
      onConnection: (ws) => {
        ws.send(encodeConnectedFrame(['aircraft', 'alerts'], TS));
        for (let seq = 1; seq <= 5; seq++) ws.send(encodeScopeEvent('aircraft', seq, TS, AIRCRAFT));
      },
    });
    const { options, out, controller } = tailOptions(server.url, { isTTY: true, rateIntervalMs: 50 });

    const running = runTail(options);
    await out.until(/rate .*aircraft.*\/s .*alerts.*\/s/);
    controller.abort();

    expect(await running).toBe(ExitCode.Ok);
    expect(out.text).toContain('\u001b[36maircraft\u001b[0m #1 4ca2d1');
  });

  it('ignores malformed frames with a warning and stays connected', async () => {
    const server = await startServer({
      onConnection: (ws) => {
        ws.send('not json');
        ws.send(JSON.stringify({ type: 'aircraft', seq: -1, ts: 1, data: {} }));
        ws.send(encodeConnectedFrame(['aircraft'], TS));
        ws.send(encodeScopeEvent('aircraft', 1, TS, AIRCRAFT));
        ws.close(1008, 'unauthorized');
      },
    });
    const { options, out, err } = tailOptions(server.url);
    expect(await runTail(options)).toBe(ExitCode.Unauthorized);
    expect(err.text).toContain('invalid server message: not JSON');
    expect(err.text).toContain('invalid server message: aircraft.seq');
    expect(out.text).toContain('aircraft #1 4ca2d1');
  });

  it('exits 1 on a terminal close code', async () => {
    const server = await startServer({ onConnection: (ws) => ws.close(4001, 'clients may not send on this stream') });
    const { options, err } = tailOptions(server.url);
    expect(await runTail(options)).toBe(ExitCode.Failed);
    expect(err.text).toContain('closed by the server: 4001 clients may not send on this stream');
  });

  it('reconnects when neither pings nor messages arrive for two ping intervals', async () => {
    const server = await startServer({ onConnection: (ws) => ws.send(encodeConnectedFrame(['aircraft'], TS)) });
    const { options, err, controller } = tailOptions(server.url, { pingIntervalMs: 100 });
    const running = runTail(options);
    await err.until(/disconnected: ping timeout[\s\S]*disconnected: ping timeout/);
    controller.abort();
    expect(await running).toBe(ExitCode.Ok);
    expect(server.connections.length).toBeGreaterThanOrEqual(2);
  });

  it('stops reading the socket while its reader is behind, and goes on when it drains', async () => {
    const server = await startServer({
      onConnection: (ws) => {
        ws.send(encodeConnectedFrame(['aircraft'], TS));
        ws.send(encodeScopeEvent('aircraft', 1, TS, AIRCRAFT));
      },
    });
    const emitter = new EventEmitter();
    const out = Object.assign(emitter, {
      text: '',
      write(chunk: string) {
        out.text += chunk;
        return !chunk.includes('#1'); // behind after the first event
      },
    });
    const { options, controller } = tailOptions(server.url, { out, pingIntervalMs: 50 });
    const running = runTail(options);
    await expect.poll(() => emitter.listenerCount('drain')).toBe(1);
    for (const seq of [2, 3]) server.connections[0]!.ws.send(encodeScopeEvent('aircraft', seq, TS, AIRCRAFT));
    // What is under test is that nothing happens for a while: paused, nothing more is read, and the silence
    // of six ping intervals is not taken for a dead peer (no reconnect).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(out.text).not.toContain('#2');
    expect(server.connections).toHaveLength(1);
    emitter.emit('drain');
    await expect.poll(() => out.text).toContain('#3');
    controller.abort();
    expect(await running).toBe(ExitCode.Ok);
    expect(server.connections).toHaveLength(1);
  });

  it('stops with 0 when its reader goes away (EPIPE on stdout)', async () => {
    const server = await startServer({
      onConnection: (ws) => {
        ws.send(encodeConnectedFrame(['aircraft'], TS));
        ws.send(encodeScopeEvent('aircraft', 1, TS, AIRCRAFT));
      },
    });
    const emitter = new EventEmitter();
    const out = Object.assign(emitter, {
      text: '',
      write(chunk: string) {
        out.text += chunk;
        if (chunk.includes('#1')) {
          queueMicrotask(() => emitter.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })));
        }
        return true;
      },
    });
    const { options } = tailOptions(server.url, { out });
    expect(await runTail(options)).toBe(ExitCode.Ok);
    expect(emitter.listenerCount('error')).toBe(0);
    await expect.poll(() => server.closes).toEqual([1000]);
  });

  it('returns 0 at once when already aborted', async () => {
    const { options, controller } = tailOptions('ws://127.0.0.1:9/v1/stream');
    controller.abort();
    expect(await runTail(options)).toBe(ExitCode.Ok);
  });
});
