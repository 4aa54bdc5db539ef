import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT_CODE_TABLE, ExitCode } from './exit-code.js';
import { EXIT_CODES_HELP, HELP } from './help.js';

const CLI_DOC = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');

describe('the one exit-code table', () => {
  it('gives each code one row, 0 to 5 in order, and every ExitCode a row', () => {
    expect(EXIT_CODE_TABLE.map((r) => r.code)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Object.values(ExitCode).sort()).toEqual(EXIT_CODE_TABLE.map((r) => r.code));
  });

  it.each(Object.keys(HELP))('is printed, whole, by the help of %s', (topic) => {
    const page = HELP[topic as keyof typeof HELP];
    expect(page).toMatch(/^Usage: hydra/);
    expect(page).toMatch(/\n\nOptions:\n/);
    expect(page).toMatch(/\n\nEnvironment:\n/);
    expect(page.endsWith(EXIT_CODES_HELP)).toBe(true);
    for (const line of page.split('\n').slice(1)) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('says in help what each code means', () => {
    const text = EXIT_CODES_HELP.replace(/\n {5}/g, ' ');
    for (const { code, meaning } of EXIT_CODE_TABLE) expect(text).toContain(`  ${code}  ${meaning}`);
  });

  it('is the table of docs/cli.md (before its `tail` section)', () => {
    const start = CLI_DOC.indexOf('# The `hydra` CLI');
    expect(start).toBeGreaterThanOrEqual(0);
    const section = CLI_DOC.slice(start, CLI_DOC.indexOf('\n## ', start + 1));
    const rows = [...section.matchAll(/^\| (\d) \| (.+) \|$/gm)].map((m) => ({ code: Number(m[1]), meaning: m[2] }));
    expect(rows).toEqual(EXIT_CODE_TABLE.map(({ code, meaning }) => ({ code, meaning })));
  });
});
