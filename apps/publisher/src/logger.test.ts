import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('redacts authorization headers and fields named token, apiKey or key', async () => {
    const { lines, destination } = capture();
    const root = createLogger({ level: 'info', destination });
    const log = root.child({ component: 'test' });
    log.info(
      {
        token: 'tok-secret-1',
        apiKey: 'hydra_k1_secret',
        req: { headers: { authorization: 'Bearer tok-secret-2', 'x-api-key': 'hydra_k1_h' } },
        headers: { authorization: 'Bearer tok-secret-3' },
        nested: { key: 'key-secret-1', ingestToken: 'tok-secret-4' },
      },
      'hello',
    );
    const text = lines.join('');
    for (const secret of [
      'tok-secret-1',
      'hydra_k1_secret',
      'tok-secret-2',
      'hydra_k1_h',
      'tok-secret-3',
      'key-secret-1',
      'tok-secret-4',
    ]) {
      expect(text).not.toContain(secret);
    }
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line.component).toBe('test');
    expect(line.msg).toBe('hello');
    expect(line.token).toBe('[redacted]');
  });
});
