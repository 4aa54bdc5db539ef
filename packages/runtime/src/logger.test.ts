import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, REDACT_PATHS } from './logger.js';

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

/** The service name each process gives its root logger (embedded runs gateway and ingest under one). */
const SERVICES = ['hydra-gateway', 'publisher', 'embedded'];

describe('createLogger', () => {
  it('redacts authorization headers and fields named token, apiKey or key', async () => {
    const { lines, destination } = capture();
    const root = createLogger({ service: 'publisher', level: 'info', destination });
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

  it.each(SERVICES)('censors every secret path on the %s logger, at the root and in a child', (service) => {
    const { lines, destination } = capture();
    const root = createLogger({ service, level: 'info', destination });
    // One object per redaction path, each holding a distinct secret at exactly that path.
    const secrets: string[] = [];
    const objects = REDACT_PATHS.map((path, i) => {
      const secret = `secret-${i}-${service}`;
      secrets.push(secret);
      return objectAt(path, secret);
    });
    for (const [i, object] of objects.entries()) {
      root.info(object, `root ${i}`);
      root.child({ component: 'ingest' }).warn(object, `child ${i}`);
    }
    expect(lines).toHaveLength(2 * REDACT_PATHS.length);
    const text = lines.join('');
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text.match(/\[redacted\]/g)).toHaveLength(2 * REDACT_PATHS.length);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ service, pid: process.pid, msg: 'root 0' });
  });

  it('covers the fields the gateway used to leave in clear (authorization, ingestToken, password)', () => {
    for (const field of ['authorization', 'ingestToken', 'password', '*.authorization', '*.ingestToken', '*.password'])
      expect(REDACT_PATHS).toContain(field);
  });
});

/** Builds `{a: {b: value}}` for the pino path `a.b` (`*` and `["x"]` segments included). */
function objectAt(path: string, value: string): Record<string, unknown> {
  const segments = path.match(/[^.[\]"]+/g) ?? [];
  let object: unknown = value;
  for (const segment of [...segments].reverse()) object = { [segment === '*' ? 'any' : segment]: object };
  return object as Record<string, unknown>;
}
