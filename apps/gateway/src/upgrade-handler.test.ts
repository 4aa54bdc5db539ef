import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkHandshake, type Handshake, MAX_HEADER_BYTES } from './upgrade-handler.js';

const good: Handshake = {
  headerBytes: 200,
  connection: 'Upgrade',
  version: '13',
  key: randomBytes(16).toString('base64'),
};
const status = (change: Partial<Handshake>) => checkHandshake({ ...good, ...change })?.status ?? null;

describe('checkHandshake', () => {
  it('lets a well-formed handshake through', () => {
    expect(status({})).toBeNull();
    for (let i = 0; i < 200; i++) expect(status({ key: randomBytes(16).toString('base64') })).toBeNull();
    expect(status({ headerBytes: MAX_HEADER_BYTES })).toBeNull();
    expect(status({ connection: 'keep-alive, Upgrade' })).toBeNull();
  });

  it('answers 426 with the supported version to any version but 13', () => {
    for (const version of ['', '8', '12', '14', '13 ', '13, 8']) {
      const refusal = checkHandshake({ ...good, version });
      expect(refusal?.status).toBe('426 Upgrade Required');
      expect(refusal?.headers).toEqual([['sec-websocket-version', '13']]);
    }
  });

  it('answers 400 to a key that is not the canonical base64 of 16 bytes', () => {
    const sixteen = Buffer.alloc(16, 0xff).toString('base64'); // '/////////////////////w=='
    expect(status({ key: sixteen })).toBeNull();
    for (const key of [
      '',
      ' ',
      'short',
      '!!!!!!!!!!!!!!!!!!!!!!!!',
      'AAAAAAAAAAAAAAAAAAAAAAAA', // 18 bytes
      Buffer.alloc(15).toString('base64'),
      Buffer.alloc(17).toString('base64'),
      `${sixteen.slice(0, 21)}x==`, // 16 bytes with stray bits in the padding
      sixteen.replace('==', ''),
      ` ${sixteen}`,
    ]) {
      expect(status({ key }), JSON.stringify(key)).toBe('400 Bad Request');
    }
  });

  it('answers 400 to Connection: close, and 431 past the header bound before anything else', () => {
    expect(status({ connection: 'close' })).toBe('400 Bad Request');
    expect(status({ connection: 'Upgrade, close' })).toBeNull();
    expect(status({ headerBytes: MAX_HEADER_BYTES + 1, version: '8', key: '' })).toBe(
      '431 Request Header Fields Too Large',
    );
  });
});
