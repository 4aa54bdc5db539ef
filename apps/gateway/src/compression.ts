import type { UwsModule } from './uws.js';

/**
 * HYDRA_COMPRESSION: whether the gateway accepts a client's offer of
 * permessage-deflate (RFC 7692).
 *
 * - `off` (the default): the extension is never negotiated; every client
 *   gets the stream uncompressed, byte for byte as without this setting.
 * - `shared`: uWS SHARED_COMPRESSOR: one zlib stream for the whole gateway,
 *   reset for every message (no context takeover), no memory per socket.
 *   Only a client that offers the extension gets it; one that does not gets
 *   exactly the uncompressed frames.
 *
 * Cost model (uWS source, src/WebSocket.h `send`, called by the TopicTree
 * drain of `app.publish` for each subscriber; measured in bench scenario 7):
 * uWS deflates an event once per compressing subscriber, not once per
 * publish. The CPU is per client (in C++), unlike the rest of the fan-out
 * (guarantee 9), which is why the default is `off`.
 *
 * No `dedicated` (sliding-window) mode: uWS 20.30 turns every
 * DEDICATED_COMPRESSOR_* into the 3 KB one at the handshake (HttpResponse.h:
 * `compression & DEDICATED_COMPRESSOR_3KB` is true for all of them), whose
 * 512-byte window is shorter than one event: it measured fewer bytes saved
 * than `shared`, at twice its CPU and ~60 KB more memory per client.
 *
 * Backlog accounting stays an upper bound: zlib falls back to stored blocks
 * for data it cannot shrink, so a compressed frame is at most a few bytes
 * longer than its payload, within the per-frame allowance of the
 * slow-consumer policy (FRAME_HEADER_BYTES).
 */
export const COMPRESSION_MODES = ['off', 'shared'] as const;
export type CompressionMode = (typeof COMPRESSION_MODES)[number];

/** The `compression` option of uWS's `app.ws` for a mode. */
export function uwsCompression(
  uws: Pick<UwsModule, 'DISABLED' | 'SHARED_COMPRESSOR' | 'SHARED_DECOMPRESSOR'>,
  mode: CompressionMode,
): number {
  switch (mode) {
    case 'off':
      return uws.DISABLED as unknown as number;
    case 'shared':
      // Clients may compress too once negotiated: their (ignored) frames are inflated by the shared stream.
      return (uws.SHARED_COMPRESSOR as unknown as number) | (uws.SHARED_DECOMPRESSOR as unknown as number);
  }
}

/**
 * The compress hint handed to uWS with each data frame: true when the
 * gateway negotiates compression at all (uWS then deflates the frame for
 * the sockets that negotiated it and sends it as is to the others). False
 * keeps uWS's uncompressed send paths exactly as they were.
 */
export function compressFrames(mode: CompressionMode): boolean {
  return mode !== 'off';
}
