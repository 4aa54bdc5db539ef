import { fileURLToPath } from 'node:url';

/** bench/ (this file is bench/src/paths.ts, built to bench/dist/paths.js). */
export const benchDir = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
export const repoDir = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const peersDir = `${benchDir}/peers`;
export const resultsDir = `${benchDir}/results`;
