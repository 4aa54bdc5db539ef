#!/usr/bin/env node
import { guardStdio } from '@hydra/runtime';
import { streamOutput } from './output.js';
import { runCli } from './run.js';
import { tailCommand } from './tail-command.js';

/** `hydra` — the admin CLI (`pnpm hydra …` from the repository root). */
const argv = process.argv.slice(2);
// A closed stdout or stderr (`hydra keys list | head -1`) drops output instead of crashing with EPIPE: a
// command still finishes with its exit code; `tail`, whose output is its whole job, ends at once.
guardStdio((stream) => {
  if (stream === 'stdout' && argv[0] === 'tail') process.exit(0);
});
const code =
  argv[0] === 'tail'
    ? await tailCommand(argv.slice(1), process.env)
    : await runCli(argv, { env: process.env, out: streamOutput(process.stdout, process.stderr) });
// The command is over and its connections are closed; exit once the output is
// flushed rather than waiting for a client library's leftover timers.
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
