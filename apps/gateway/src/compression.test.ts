import { describe, expect, it } from 'vitest';
import { compressFrames, uwsCompression } from './compression.js';
import { loadUws } from './uws.js';

describe('compression modes', () => {
  const { uws } = loadUws({ allowFallback: true });

  it('maps off to uWS DISABLED and hands frames over with compress=false (uWS send paths unchanged)', () => {
    expect(uwsCompression(uws, 'off')).toBe(uws.DISABLED);
    expect(compressFrames('off')).toBe(false);
  });

  it('maps shared to the shared compressor with the zero-memory shared decompressor', () => {
    const shared = (uws.SHARED_COMPRESSOR as unknown as number) | (uws.SHARED_DECOMPRESSOR as unknown as number);
    expect(uwsCompression(uws, 'shared')).toBe(shared);
    expect(compressFrames('shared')).toBe(true);
  });
});
