import type { UwsModule } from './uws.js';

/**
 * HYDRA_COMPRESSION: whether the gateway accepts a client's offer of
 * permessage-deflate (RFC 7692), and how it compresses.
 *
 * - `off` (the default): the extension is never negotiated; every client
 *   gets the stream uncompressed, byte for byte as without this setting.
 * - `shared`: uWS SHARED_COMPRESSOR: one zlib stream for the whole gateway,
 *   reset for every message (no context takeover), no memory per socket.
 * - `dedicated`: uWS DEDICATED_COMPRESSOR_4KB: a 4 KB sliding window per
 *   socket (context takeover), so repeated field names across messages
 *   compress too; costs the window plus zlib's state per compressing socket.
 *
 * In either mode only a client that offers the extension gets it; one that
 * does not gets exactly the uncompressed frames.
 *
 * Cost model (measured in bench, `compression` scenario; uWS source,
 * src/WebSocket.h `send` and the App's TopicTree drain): uWS compresses in
 * `WebSocket::send`, which `app.publish` calls once per subscribed socket.
 * A published event is therefore deflated once per compressing subscriber,
 * not once per publish: the CPU is per client (in C++), unlike the rest of
 * the fan-out (guarantee 9).
 *
 * Backlog accounting stays an upper bound: zlib falls back to stored blocks
 * for data it cannot shrink, so a compressed frame is at most a few bytes
 * longer than its payload, within the per-frame allowance of the
 * slow-consumer policy (FRAME_HEADER_BYTES).
 */
export const COMPRESSION_MODES = ['off', 'shared', 'dedicated'] as const;
export type CompressionMode = (typeof COMPRESSION_MODES)[number];

/** The `compression` option of uWS's `app.ws` for a mode. */
export function uwsCompression(
  uws: Pick<UwsModule, 'DISABLED' | 'SHARED_COMPRESSOR' | 'SHARED_DECOMPRESSOR' | 'DEDICATED_COMPRESSOR_4KB'>,
  mode: CompressionMode,
): number {
  switch (mode) {
    case 'off':
      return uws.DISABLED as unknown as number;
    case 'shared':
      // Clients may compress too once negotiated: their (ignored) frames are inflated by the shared stream.
      return (uws.SHARED_COMPRESSOR as unknown as number) | (uws.SHARED_DECOMPRESSOR as unknown as number);
    case 'dedicated':
      return (uws.DEDICATED_COMPRESSOR_4KB as unknown as number) | (uws.SHARED_DECOMPRESSOR as unknown as number);
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
