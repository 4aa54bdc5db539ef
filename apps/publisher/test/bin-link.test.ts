import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * `pnpm hydra …` works on a fresh clone only if the bin file exists when pnpm
 * links bins, which is before the root "prepare" step builds dist/: the bin
 * must be a file committed to git, not a build output.
 */
describe('the hydra bin', () => {
  it('points at a file tracked by git (not under dist/), which starts the CLI', () => {
    const pkg = JSON.parse(readFileSync(`${pkgDir}/package.json`, 'utf8')) as { bin: Record<string, string> };
    const bin = pkg.bin.hydra ?? '';
    expect(bin).not.toMatch(/dist\//);
    const tracked = execFileSync('git', ['ls-files', '--error-unmatch', bin], { cwd: pkgDir, encoding: 'utf8' });
    expect(tracked.trim()).toBe(bin.replace(/^\.\//, ''));
    expect(readFileSync(`${pkgDir}/${bin}`, 'utf8')).toContain("import '../dist/cli.js'");
  });
});
