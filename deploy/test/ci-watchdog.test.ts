/**
 * .ci/watchdog.mjs and .ci/summary.mjs, on fake commands: a run that stops
 * making progress is stopped (its whole process group, even a process that
 * ignores SIGTERM), says which test files were running, exits 124, and CI's
 * summary line still counts what the progress file recorded; a run that
 * keeps making progress is left alone and its exit status passed on.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoPath } from './support.js';

const WATCHDOG = repoPath('.ci/watchdog.mjs');
const SUMMARY = repoPath('.ci/summary.mjs');
const dir = mkdtempSync(join(tmpdir(), 'hydra-watchdog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A node script (as a command line) that appends progress records to `file`. */
const record = (file: string, r: object) =>
  `require('fs').appendFileSync(${JSON.stringify(file)}, JSON.stringify({ t: Date.now(), ...${JSON.stringify(r)} }) + '\\n');`;

interface Outcome {
  code: number | null;
  stderr: string;
  ms: number;
}

/** Runs the watchdog over `script` (node -e); resolves when the watchdog exits (killed after `boundMs`). */
function watch(progress: string, options: string[], script: string, boundMs = 20_000): Promise<Outcome> {
  const started = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [WATCHDOG, '--progress', progress, ...options, '--', process.execPath, '-e', script],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const bound = setTimeout(() => child.kill('SIGKILL'), boundMs);
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(bound);
      resolve({ code, stderr, ms: performance.now() - started });
    });
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('.ci/watchdog.mjs', () => {
  it('stops a stalled run (whole group, SIGKILL after the grace), names the running files, exits 124', async () => {
    const progress = join(dir, 'stalled.ndjson');
    const pidFile = join(dir, 'grandchild.pid');
    // One file ended, one still "running"; a grandchild in the group; then nothing, while ignoring SIGTERM.
    const script = [
      record(progress, { event: 'run-start', files: 3 }),
      record(progress, { event: 'file-start', project: 'main', file: 'a.test.ts' }),
      record(progress, { event: 'file-end', project: 'main', file: 'a.test.ts', state: 'passed' }),
      record(progress, { event: 'file-start', project: 'main', file: 'stuck.test.ts' }),
      record(progress, { event: 'test-end', file: 'a.test.ts', name: 'x', state: 'passed' }),
      `const g = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });`,
      `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(g.pid));`,
      `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`,
    ].join('\n');
    const out = await watch(progress, ['--stall', '1', '--grace', '1'], script);
    expect(out.code).toBe(124);
    expect(out.stderr).toMatch(/watchdog: no progress for \d+ s \(limit 1 s\)/);
    expect(out.stderr).toContain('1 of 3 test files ended');
    expect(out.stderr).toMatch(/stuck\.test\.ts \(project main\), started \d+ s ago/);
    expect(out.stderr).not.toMatch(/ {2}a\.test\.ts/);
    expect(out.stderr).toContain('sending SIGKILL');
    // Stall (1 s) + grace (1 s) + polling: well under the bound.
    expect(out.ms).toBeLessThan(10_000);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await expect.poll(() => alive(grandchild), { timeout: 5000 }).toBe(false);

    // CI's summary line still comes out, from the progress file, with the stall as one more failure.
    const summary = spawnSync(process.execPath, [SUMMARY, join(dir, 'absent.json'), '0', '124', progress], {
      encoding: 'utf8',
    });
    expect(summary.stdout.trim()).toBe('1 passed, 1 failed');
    expect(summary.status).toBe(1);
  }, 30_000);

  it('says when vitest is stuck with no file running (the hang between projects)', async () => {
    const progress = join(dir, 'between.ndjson');
    const script = [
      record(progress, { event: 'run-start', files: 2 }),
      record(progress, { event: 'file-start', project: 'main', file: 'a.test.ts' }),
      record(progress, { event: 'file-end', project: 'main', file: 'a.test.ts', state: 'failed' }),
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const out = await watch(progress, ['--stall', '1', '--grace', '1'], script);
    expect(out.code).toBe(124);
    expect(out.stderr).toContain('1 of 2 test files ended');
    expect(out.stderr).toContain('no test file was running');
    expect(out.stderr).not.toContain('sending SIGKILL'); // it obeyed SIGTERM
  }, 30_000);

  it('bounds the start-up separately: no progress file at all within --startup', async () => {
    const out = await watch(
      join(dir, 'never.ndjson'),
      ['--stall', '60', '--startup', '1', '--grace', '1'],
      'setInterval(() => {}, 1000);',
    );
    expect(out.code).toBe(124);
    expect(out.stderr).toContain('limit 1 s');
    expect(out.stderr).toContain('vitest never started a test file');
  }, 30_000);

  it('leaves a run that keeps making progress alone, however long, and passes its exit status on', async () => {
    const progress = join(dir, 'busy.ndjson');
    // 2.4 s in all, a step every 200 ms, with a stall limit of 1 s.
    const script = `let n = 0; const t = setInterval(() => { ${record(progress, { event: 'test-end', file: 'a.test.ts', state: 'passed' })} if (++n === 12) { clearInterval(t); process.exit(3); } }, 200);`;
    const out = await watch(progress, ['--stall', '1', '--grace', '1'], script);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(3);
    expect(out.ms).toBeGreaterThan(2000);
  }, 30_000);

  it('summary: a file vitest was given that never ran (a later project dropped) counts as failed', () => {
    const progress = join(dir, 'dropped.ndjson');
    const lines = [
      {
        event: 'run-start',
        files: 2,
        list: [
          { project: 'main', file: 'a.test.ts' },
          { project: 'solo', file: 'b.test.ts' },
        ],
      },
      { event: 'file-start', project: 'main', file: 'a.test.ts' },
      { event: 'test-end', file: 'a.test.ts', name: 'x', state: 'passed' },
      { event: 'file-end', project: 'main', file: 'a.test.ts', state: 'passed' },
      { event: 'run-end', reason: 'passed', ran: ['a.test.ts'] },
    ];
    writeFileSync(progress, lines.map((l) => JSON.stringify({ t: Date.now(), ...l })).join('\n'));
    const summary = spawnSync(process.execPath, [SUMMARY, join(dir, 'absent.json'), '0', '0', progress], {
      encoding: 'utf8',
    });
    expect(summary.stdout.trim().split('\n')).toEqual([
      'never finished: b.test.ts (project solo)',
      '1 passed, 1 failed',
    ]);
    expect(summary.status).toBe(1);
  });

  it('refuses to run without a progress file or a command', () => {
    const r = spawnSync(process.execPath, [WATCHDOG, '--stall', '1', '--', 'true'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--progress FILE is required');
  });
});
