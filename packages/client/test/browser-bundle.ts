import { build } from 'esbuild';

/** Bundles the SDK for browsers from source, as an app would: minified, nothing external. */
export async function browserBundle(format: 'esm' | 'iife' = 'esm'): Promise<string> {
  const result = await build({
    entryPoints: [new URL('../src/index.ts', import.meta.url).pathname],
    bundle: true,
    minify: true,
    format,
    ...(format === 'iife' ? { globalName: 'Hydra' } : {}),
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}
