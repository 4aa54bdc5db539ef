import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Guarantees are numbered once, in docs/guarantees.md, and the code cites those
 * numbers ("guarantee 4"). A citation of a number the document does not define
 * sends the reader nowhere: this test fails on it.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_ROOTS = ['apps', 'packages', 'bench', 'soak', 'deploy', 'test'];

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) tsFiles(path, out);
    else if (/\.(ts|mts|mjs)$/.test(entry)) out.push(path);
  }
  return out;
}

const defined = new Set(
  [...readFileSync(join(ROOT, 'docs', 'guarantees.md'), 'utf8').matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1])),
);

describe('guarantee citations', () => {
  it('docs/guarantees.md numbers its guarantees from 1', () => {
    expect(defined.has(1)).toBe(true);
    expect(defined.size).toBeGreaterThanOrEqual(9);
  });

  it('every "guarantee N" in the code is defined in docs/guarantees.md', () => {
    const dangling: string[] = [];
    for (const root of SOURCE_ROOTS) {
      for (const file of tsFiles(join(ROOT, root))) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/\bguarantees? (\d+)(?:[–-](\d+))?/gi)) {
          const from = Number(m[1]);
          const to = m[2] === undefined ? from : Number(m[2]);
          for (let n = from; n <= to; n++) {
            if (!defined.has(n)) dangling.push(`${relative(ROOT, file)}: "${m[0]}"`);
          }
        }
      }
    }
    expect(dangling).toEqual([]);
  });
});
