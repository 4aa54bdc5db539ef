import { describe, expect, it } from 'vitest';
import { COMPRESSION_MODES, compressFrames, uwsCompression } from './compression.js';
import { loadUws } from './uws.js';

describe('compression modes', () => {
  const { uws } = loadUws({ allowFallback: true });

  it('maps off to uWS DISABLED and hands frames over with compress=false (uWS send paths unchanged)', () => {
    expect(uwsCompression(uws, 'off')).toBe(uws.DISABLED);
    expect(compressFrames('off')).toBe(false);
  });

  it('maps shared and dedicated to a uWS compressor with the zero-memory shared decompressor', () => {
    const decompressor = uws.SHARED_DECOMPRESSOR as unknown as number;
    expect(uwsCompression(uws, 'shared')).toBe((uws.SHARED_COMPRESSOR as unknown as number) | decompressor);
    expect(uwsCompression(uws, 'dedicated')).toBe((uws.DEDICATED_COMPRESSOR_4KB as unknown as number) | decompressor);
    for (const mode of COMPRESSION_MODES) expect(compressFrames(mode)).toBe(mode !== 'off');
  });
});
