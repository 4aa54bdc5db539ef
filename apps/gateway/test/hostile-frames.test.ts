import { CloseCode } from '@hydra/protocol';
import type { GatewayProcess, StreamClient } from '@hydra/test-support';
import { StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_MESSAGE_BUDGET, MAX_CLIENT_FRAME_BYTES } from '../src/gateway.js';
import { Opcode, type RawClient, rawUpgrade } from './raw-socket.js';

/**
 * Hostile WebSocket clients on raw sockets (the `ws` library will not send
 * these frames). What uWebSockets.js 20.30 does with each, as observed here:
 *
 * - data messages (text or binary, fragmented or not): ignored, counted; the
 *   17th (CLIENT_MESSAGE_BUDGET + 1) gets a close frame 4001;
 * - a frame (or a fragmented message in total) over MAX_CLIENT_FRAME_BYTES,
 *   invalid UTF-8 in a text message, a continuation with nothing to continue,
 *   a reserved opcode, a fragmented or > 125-byte control frame: the TCP
 *   connection is dropped at once without a close frame (the client sees
 *   1006; the gateway counts hydra_connections_closed_total{code="1006"});
 * - pings: answered with pongs by uWS itself, not counted against the budget
 *   (clients such as Python's `websockets` ping on their own); a client that
 *   floods pings without reading the pongs is a slow consumer like any other;
 * - unmasked client frames: uWS does not check the mask bit (RFC 6455 says
 *   close at once); it reads them as masked, desynchronises, and drops the
 *   connection at the first invalid frame that results (1006).
 */
describe('hostile WebSocket frames', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;
  let key: string;
  let bystander: StreamClient;
  let published = 0;

  beforeAll(async () => {
    f = await StreamFixture.start();
    gw = await f.gateway();
    key = (await f.key(['signals'])).key;
    bystander = f.client(withKey(gw.url, key, '&snapshot=false'), { localAddress: '127.0.80.1' });
    await bystander.waitFor((m) => m.type === 'connected');
  });
  afterAll(async () => {
    await f?.stop();
  });

  let nextIp = 2;
  const open = async (): Promise<RawClient> => {
    const c = await rawUpgrade(gw.port, `/v1/stream?apiKey=${key}&snapshot=false`, {
      localAddress: `127.0.80.${nextIp++}`,
    });
    expect(c.status).toBe(101);
    await c.until(() => c.messages().some((m) => m.type === 'connected'));
    return c;
  };
  /** Proves `c` is still open and served: a live event reaches it (and the bystander). */
  const stillServed = async (...clients: RawClient[]) => {
    const label = `probe-${++published}`;
    await f.publish('signals', { kind: 'rf', label });
    const got = (c: RawClient) =>
      c.until(() => c.messages().some((m) => (m.data as { label?: string } | undefined)?.label === label));
    await Promise.all([...clients.map(got), bystander.waitFor((m) => m.type === 'signals', published)]);
    for (const c of clients) expect(c.isClosed).toBe(false);
  };
  const droppedWithoutCloseFrame = async (c: RawClient) => {
    const { afterMs } = await c.ended;
    expect(c.closeFrame()).toBeNull();
    return afterMs;
  };

  it(`ignores data messages within the budget of ${CLIENT_MESSAGE_BUDGET}, then closes with 4001`, async () => {
    const c = await open();
    for (let i = 0; i < CLIENT_MESSAGE_BUDGET / 2; i++) c.send(Opcode.Text, `{"type":"subscribe","n":${i}}`);
    for (let i = 0; i < CLIENT_MESSAGE_BUDGET / 2; i++) c.send(Opcode.Binary, Buffer.from([i, 0xff, 0x00]));
    await stillServed(c);
    c.send(Opcode.Text, 'one too many');
    await c.ended;
    expect(c.closeFrame()).toEqual({
      code: CloseCode.ClientProtocolViolation,
      reason: 'clients may not send on this stream',
    });
  });

  it(`accepts a frame of exactly ${MAX_CLIENT_FRAME_BYTES} bytes and drops the connection on a larger one`, async () => {
    const c = await open();
    c.send(Opcode.Text, 'x'.repeat(MAX_CLIENT_FRAME_BYTES));
    await stillServed(c);
    c.send(Opcode.Text, 'x'.repeat(MAX_CLIENT_FRAME_BYTES + 1));
    expect(await droppedWithoutCloseFrame(c)).toBeLessThan(5000);

    // A frame announcing 1 TiB is refused from its header: nothing is buffered first.
    const huge = await open();
    huge.send(Opcode.Binary, Buffer.alloc(16), { declaredLength: 2 ** 40 });
    await droppedWithoutCloseFrame(huge);
  });

  it('drops a text message with invalid UTF-8 (a binary one is just an ignored message)', async () => {
    const binary = await open();
    binary.send(Opcode.Binary, Buffer.from([0xff, 0xfe, 0xc3]));
    await stillServed(binary);

    const text = await open();
    text.send(Opcode.Text, Buffer.from([0x68, 0x69, 0xff, 0xfe]));
    await droppedWithoutCloseFrame(text);
    // An overlong encoding and a lone surrogate are invalid UTF-8 too.
    const overlong = await open();
    overlong.send(Opcode.Text, Buffer.from([0xc0, 0xaf]));
    await droppedWithoutCloseFrame(overlong);
    const surrogate = await open();
    surrogate.send(Opcode.Text, Buffer.from([0xed, 0xa0, 0x80]));
    await droppedWithoutCloseFrame(surrogate);
  });

  it('reassembles fragments into one message (a ping may interleave) and bounds the whole message', async () => {
    const c = await open();
    c.send(Opcode.Text, '{"he', { fin: false });
    c.send(Opcode.Ping, 'mid-message');
    c.send(Opcode.Continuation, 'llo":', { fin: false });
    c.send(Opcode.Continuation, '1}');
    await c.until(() => c.frames.some((fr) => fr.opcode === Opcode.Pong && fr.payload.toString() === 'mid-message'));
    await stillServed(c);
    // The three fragments were one message: the budget has exactly CLIENT_MESSAGE_BUDGET - 1 left.
    for (let i = 1; i < CLIENT_MESSAGE_BUDGET; i++) c.send(Opcode.Text, 'x');
    await stillServed(c);
    c.send(Opcode.Text, 'x');
    await c.ended;
    expect(c.closeFrame()?.code).toBe(CloseCode.ClientProtocolViolation);

    // Five 1,000-byte fragments pass the 4 KiB bound in total: dropped before the message completes.
    const big = await open();
    for (let i = 0; i < 5; i++) big.send(i === 0 ? Opcode.Text : Opcode.Continuation, 'y'.repeat(1000), { fin: false });
    await droppedWithoutCloseFrame(big);
  });

  it('drops protocol errors: orphan continuation, reserved opcode, fragmented or oversized control frames', async () => {
    const cases: [string, (c: RawClient) => void][] = [
      ['orphan continuation', (c) => c.send(Opcode.Continuation, 'x')],
      ['reserved opcode 3', (c) => c.send(3, 'x')],
      ['reserved opcode 11', (c) => c.send(11, 'x')],
      ['fragmented ping', (c) => c.send(Opcode.Ping, 'x', { fin: false })],
      ['126-byte ping', (c) => c.send(Opcode.Ping, 'x'.repeat(126))],
      [
        'new message inside a fragmented one',
        (c) => {
          c.send(Opcode.Text, 'a', { fin: false });
          c.send(Opcode.Text, 'b');
        },
      ],
    ];
    for (const [what, act] of cases) {
      const c = await open();
      act(c);
      const { afterMs } = await c.ended;
      expect(afterMs, what).toBeLessThan(10_000);
    }
    await stillServed();
  });

  it('answers pings natively without counting them, and drops a stream of unmasked frames', async () => {
    const c = await open();
    for (let i = 0; i < 1000; i++) c.send(Opcode.Ping, String(i));
    await c.until(() => c.frames.filter((fr) => fr.opcode === Opcode.Pong).length === 1000, 10_000, '1000 pongs');
    await stillServed(c);

    // uWS does not check the mask bit: it reads an unmasked frame as masked, the stream desynchronises,
    // and the connection is dropped at the first invalid frame that results.
    const unmasked = await open();
    for (let i = 0; i < CLIENT_MESSAGE_BUDGET; i++) unmasked.send(Opcode.Text, 'plain', { mask: false });
    await droppedWithoutCloseFrame(unmasked);
  });

  it('kept serving throughout: the bystander saw every event, the process is up, drops are counted as 1006', async () => {
    await stillServed();
    expect(bystander.closeCode).toBeNull();
    expect(gw.child.exitCode).toBeNull();
    const metrics = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
    expect(Number(/^hydra_connections_closed_total\{code="1006"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(
      9,
    );
    expect(Number(/^hydra_connections_closed_total\{code="4001"\} (\d+)$/m.exec(metrics)?.[1])).toBe(2);
  });
});
