import { spawnSync } from 'node:child_process';

/** True under CI=true (or any value but '', '0', 'false'): missing tools then fail tests instead of skipping them. */
export const inCI = ((): boolean => {
  const ci = process.env['CI']?.toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
})();

export function hasTool(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Whether a check needing an external binary is skipped: only when the binary
 * is absent *and* this is not CI. Under CI=true a missing binary fails the
 * test (the test then runs and fails on the missing tool), so CI cannot pass
 * by skipping. Use as `it.skipIf(skipWithout('promtool', 'prometheus'))`.
 */
export function skipWithout(command: string, debianPackage: string): boolean {
  if (hasTool(command) || inCI) return false;
  console.warn(
    `[tests] skipping the ${command} check: ${command} is not installed ` +
      `(apt-get install -y ${debianPackage}). Under CI=true this check fails instead.`,
  );
  return true;
}

/** Throws a clear error naming the Debian package when `command` is missing (call it first in a test that needs it). */
export function requireTool(command: string, debianPackage: string): void {
  if (!hasTool(command)) {
    throw new Error(`${command} is not installed: CI must install it (apt-get install -y ${debianPackage})`);
  }
}
