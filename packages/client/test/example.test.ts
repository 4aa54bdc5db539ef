import { spawn } from 'node:child_process';
import { REPO_ROOT, StreamFixture } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** examples/sdk-node.mjs runs as documented (against the built dist), prints events as JSON, ends on SIGINT. */
describe('examples/sdk-node.mjs', () => {
  let f: StreamFixture;

  beforeAll(async () => {
    f = await StreamFixture.start();
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('prints every event as a JSON line and exits 0 on SIGINT', async () => {
    const gw = await f.gateway();
    const { key } = await f.key(['alerts']);
    const child = spawn(process.execPath, ['examples/sdk-node.mjs'], {
      cwd: REPO_ROOT,
      env: { ...process.env, HYDRA_STREAM_URL: gw.url, HYDRA_API_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines = new Promise<string[]>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const done = stdout.split('\n').filter(Boolean);
        if (done.length >= 3) resolve(done);
      });
    });
    const opened = new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('snapshot alerts@')) resolve();
      });
    });
    await opened;
    for (let i = 0; i < 3; i++) await f.publish('alerts', { headline: `example ${i}` });
    const events = (await lines).map((line) => JSON.parse(line) as { type: string; data: unknown });
    expect(events.map((e) => [e.type, e.data])).toEqual([0, 1, 2].map((i) => ['alerts', { headline: `example ${i}` }]));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await gw.stop();
  });
});
