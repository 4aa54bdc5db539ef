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
        token: 'T1',
        apiKey: 'hydra_k1_secret',
        req: { headers: { authorization: 'Bearer T2', 'x-api-key': 'hydra_k1_h' } },
        headers: { authorization: 'Bearer T3' },
        nested: { key: 'K1', ingestToken: 'T4' },
      },
      'hello',
    );
    const text = lines.join('');
    for (const secret of ['T1', 'hydra_k1_secret', 'T2', 'hydra_k1_h', 'T3', 'K1', 'T4']) {
      expect(text).not.toContain(secret);
    }
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line.component).toBe('test');
    expect(line.msg).toBe('hello');
    expect(line.token).toBe('[redacted]');
  });
});
