import { constants, inflateRawSync } from 'node:zlib';
import { type GatewayProcess, StreamFixture, withKey } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Opcode, type RawClient, rawUpgrade } from './raw-socket.js';

const OFFER = 'permessage-deflate; client_max_window_bits';
/** The tail a sender strips from each compressed message (RFC 7692 §7.2.1), put back to inflate it. */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

const streamPath = (key: string, extra = '') => `/v1/stream?apiKey=${encodeURIComponent(key)}${extra}`;

function dataFrames(c: RawClient) {
  return c.frames.filter((f) => f.opcode === Opcode.Text);
}

/** What the handshake answer says about the extension (lower case), or '' when it says nothing. */
function negotiated(c: RawClient): string {
  return /^sec-websocket-extensions: *(.*)$/im.exec(c.head)?.[1]?.trim().toLowerCase() ?? '';
}

/**
 * permessage-deflate (HYDRA_COMPRESSION, compression.ts): negotiated only
 * when the client offers it and the gateway allows it. A compressing client
 * reads the same messages as any other; a client that does not offer it, or
 * a gateway that does not allow it, gets the uncompressed frames of before.
 */
describe('HYDRA_COMPRESSION (permessage-deflate)', () => {
  let f: StreamFixture;
  let off: GatewayProcess;
  let shared: GatewayProcess;

  beforeAll(async () => {
    f = await StreamFixture.start();
    [off, shared] = await Promise.all([f.gateway(), f.gateway({ HYDRA_COMPRESSION: 'shared' })]);
    for (let i = 0; i < 40; i++)
      await f.publish('aircraft', { id: `c${i}`, lat: 50 + i / 10, lon: 4, callsign: `HYD${i}` });
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('shared: a ws client offering it negotiates it and reads the same messages as one that does not offer it', async () => {
    const gw = shared;
    const { key } = await f.key(['aircraft']);
    const compressing = f.client(withKey(gw.url, key));
    const plain = f.client(withKey(gw.url, key), { perMessageDeflate: false });
    await Promise.all([compressing.opened, plain.opened]);
    expect(compressing.ws.extensions).toContain('permessage-deflate');
    expect(plain.ws.extensions).toBe('');
    await Promise.all([compressing, plain].map((c) => c.waitFor((m) => m.type === 'snapshot')));
    const live: number[] = [];
    for (let i = 0; i < 20; i++) live.push(await f.publish('aircraft', { id: `c${i}`, lat: 60, lon: 5 + i / 100 }));
    const last = live.at(-1);
    await Promise.all([compressing, plain].map((c) => c.waitFor((m) => m.type === 'aircraft' && m.seq === last)));
    const withoutTs = (c: typeof plain) => c.messages.slice(1);
    expect(withoutTs(compressing)).toEqual(withoutTs(plain));
    expect(compressing.ofType('aircraft').map((m) => m.seq)).toEqual(live);
    await Promise.all([compressing.close(), plain.close()]);
  });

  it('shared: data frames are deflated (RSV1) for a client that offers it, each inflating alone to the JSON message', async () => {
    const { key } = await f.key(['aircraft']);
    const c = await rawUpgrade(shared.port, streamPath(key), { headers: { 'Sec-WebSocket-Extensions': OFFER } });
    expect(c.status).toBe(101);
    expect(negotiated(c)).toContain('permessage-deflate');
    const decode = () =>
      dataFrames(c).map((fr) =>
        JSON.parse(
          (fr.rsv1
            ? inflateRawSync(Buffer.concat([fr.payload, DEFLATE_TAIL]), { finishFlush: constants.Z_SYNC_FLUSH })
            : fr.payload
          ).toString(),
        ),
      );
    await c.until(() => decode().some((m) => m.type === 'snapshot'), 10_000, 'the snapshot');
    const seq = await f.publish('aircraft', { id: 'c1', lat: 61, lon: 6 });
    const messages = await c.until(
      () => {
        const decoded = decode();
        return decoded.some((m) => m.type === 'aircraft' && m.seq === seq) ? decoded : null;
      },
      10_000,
      'the live event',
    );
    const snapshotFrame = dataFrames(c)[messages.findIndex((m) => m.type === 'snapshot')];
    const liveFrame = dataFrames(c)[messages.findIndex((m) => m.type === 'aircraft')];
    expect(snapshotFrame?.rsv1).toBe(true);
    expect(liveFrame?.rsv1).toBe(true);
    // 40 aircraft with the same field names: the snapshot shrinks a lot.
    const snapshotJson = JSON.stringify(messages.find((m) => m.type === 'snapshot'));
    expect(snapshotFrame?.payload.length).toBeLessThan(Buffer.byteLength(snapshotJson) / 2);
    c.destroy();
  });

  it('shared: a client that does not offer it gets uncompressed frames', async () => {
    const { key } = await f.key(['aircraft']);
    const c = await rawUpgrade(shared.port, streamPath(key));
    expect(c.status).toBe(101);
    expect(negotiated(c)).toBe('');
    await c.until(() => c.messages().some((m) => m.type === 'snapshot'));
    const seq = await f.publish('aircraft', { id: 'c2', lat: 62, lon: 6 });
    await c.until(() => c.messages().some((m) => m.type === 'aircraft' && (m as { seq?: number }).seq === seq));
    expect(dataFrames(c).every((fr) => !fr.rsv1)).toBe(true);
    c.destroy();
  });

  it('off (the default): an offer is declined and the frames are byte for byte those of a client that did not offer', async () => {
    const { key } = await f.key(['aircraft']);
    const offering = await rawUpgrade(off.port, streamPath(key), { headers: { 'Sec-WebSocket-Extensions': OFFER } });
    const plain = await rawUpgrade(off.port, streamPath(key));
    expect([offering.status, plain.status]).toEqual([101, 101]);
    expect(negotiated(offering)).toBe('');
    const gotSnapshot = (c: RawClient) => () => c.messages().some((m) => m.type === 'snapshot');
    await Promise.all([offering.until(gotSnapshot(offering)), plain.until(gotSnapshot(plain))]);
    const seq = await f.publish('aircraft', { id: 'c3', lat: 63, lon: 6 });
    const gotLive = (c: RawClient) => () =>
      c.messages().some((m) => m.type === 'aircraft' && (m as { seq?: number }).seq === seq);
    await Promise.all([offering.until(gotLive(offering)), plain.until(gotLive(plain))]);
    // The first frame is `connected`, whose ts may differ by a millisecond; every later frame is the same bytes.
    const bytes = (c: RawClient) =>
      dataFrames(c)
        .slice(1)
        .map((fr) => fr.payload.toString('base64'));
    expect(bytes(offering)).toEqual(bytes(plain));
    expect(dataFrames(offering).every((fr) => !fr.rsv1)).toBe(true);
    offering.destroy();
    plain.destroy();
  });
});
