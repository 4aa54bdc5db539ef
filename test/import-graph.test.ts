import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The shape of the house, checked on every run:
 * - packages never depend on apps; the only app that depends on other apps is
 *   the composition root (`apps/embedded`), with one kind of exception: an app
 *   whose product is files for a browser (`apps/console`, the web console's
 *   page) may be a dependency of the app that serves those files (the
 *   gateway, with HYDRA_CONSOLE=true); such an app depends on no app itself;
 * - every `@hydra/*` import is declared in the importing workspace's package.json;
 * - no relative import leaves its own workspace (`../../../soak/src/…`);
 * - no import circle between the source files of a workspace (type-only
 *   imports included: a circle of types is still two rooms that cannot be read apart).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const COMPOSITION_ROOTS = new Set(['@hydra/embedded']);
/** Apps that are files served to browsers: others may depend on them to serve those files. */
const SERVED_APPS = new Set(['@hydra/console']);

interface Workspace {
  name: string;
  dir: string;
  kind: 'app' | 'package' | 'tool';
  deps: Set<string>;
}

function workspaces(): Workspace[] {
  const found: Workspace[] = [];
  const add = (dir: string, kind: Workspace['kind']) => {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) return;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => d.startsWith('@hydra/'));
    found.push({ name: pkg.name, dir, kind, deps: new Set(deps) });
  };
  for (const [parent, kind] of [
    ['apps', 'app'],
    ['packages', 'package'],
  ] as const) {
    for (const entry of readdirSync(join(ROOT, parent))) add(join(ROOT, parent, entry), kind);
  }
  add(join(ROOT, 'bench'), 'tool');
  add(join(ROOT, 'soak'), 'tool');
  return found;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at)) {
      if (entry === 'node_modules' || entry === 'dist') continue;
      const path = join(at, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|tsx)$/.test(entry) && !entry.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const sub of ['src', 'test']) if (existsSync(join(dir, sub))) walk(join(dir, sub));
  return files;
}

const isTestFile = (file: string) => /\.test\.ts$/.test(file) || file.includes('/test/');

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) out.push((m[1] ?? m[2]) as string);
  return out;
}

function resolveRelative(from: string, spec: string): string | null {
  const base = resolve(dirname(from), spec);
  for (const candidate of [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    `${base}.ts`,
    join(base, 'index.ts'),
  ]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    if (!state.has(node)) {
      const cycle = visit(node);
      if (cycle) return cycle;
    }
  }
  return null;
}

const all = workspaces();
const byName = new Map(all.map((w) => [w.name, w]));

describe('import graph', () => {
  it('finds the workspaces', () => {
    expect(all.map((w) => w.name)).toEqual(
      expect.arrayContaining(['@hydra/gateway', '@hydra/publisher', '@hydra/protocol', '@hydra/backplane']),
    );
  });

  it('packages never depend on apps; only the composition root depends on other apps', () => {
    const wrong: string[] = [];
    for (const w of all) {
      for (const dep of w.deps) {
        const target = byName.get(dep);
        if (target?.kind !== 'app') continue;
        if (w.kind === 'package') wrong.push(`${w.name} (a package) depends on ${dep} (an app)`);
        if (w.kind === 'app' && SERVED_APPS.has(w.name))
          wrong.push(`${w.name} (served files) depends on an app, ${dep}`);
        else if (w.kind === 'app' && !COMPOSITION_ROOTS.has(w.name) && !SERVED_APPS.has(dep)) {
          wrong.push(`${w.name} depends on another app, ${dep}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the workspaces depend on one another without a circle', () => {
    const graph = new Map(all.map((w) => [w.name, [...w.deps].filter((d) => byName.has(d))]));
    expect(findCycle(graph)).toBeNull();
  });

  for (const w of all) {
    describe(relative(ROOT, w.dir), () => {
      const files = sourceFiles(w.dir);

      it('declares every @hydra/* package it imports, and imports nothing across workspaces by path', () => {
        const wrong: string[] = [];
        for (const file of files) {
          for (const spec of specifiers(file)) {
            const where = relative(ROOT, file);
            if (spec.startsWith('@hydra/')) {
              const pkg = spec.split('/').slice(0, 2).join('/');
              // Test files reach the test helpers through the root vitest config's alias, never at run time.
              if (pkg === '@hydra/test-support' && isTestFile(file)) continue;
              if (pkg !== w.name && !w.deps.has(pkg)) wrong.push(`${where} imports ${pkg}, not in its package.json`);
            } else if (spec.startsWith('.')) {
              const target = resolve(dirname(file), spec);
              if (!target.startsWith(w.dir + '/')) wrong.push(`${where} reaches outside its workspace: ${spec}`);
            }
          }
        }
        expect(wrong).toEqual([]);
      });

      it('has no import circle between its source files', () => {
        const graph = new Map<string, string[]>();
        for (const file of files) {
          const targets = specifiers(file)
            .filter((s) => s.startsWith('.'))
            .map((s) => resolveRelative(file, s))
            .filter((t): t is string => t !== null);
          graph.set(file, targets);
        }
        const cycle = findCycle(graph);
        expect(cycle?.map((f) => relative(ROOT, f)) ?? null).toBeNull();
      });
    });
  }
});
