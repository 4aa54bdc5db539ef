// Runs a command in its own process group and fails it when it stops making progress, instead of letting a
// hung run wait out the CI limit.
//
//   node .ci/watchdog.mjs --progress FILE [--stall SECONDS] [--startup SECONDS] -- command [args...]
//
// Progress is the growth of FILE, which .ci/progress-reporter.mjs appends to at every step of a vitest run (a
// file or a test starting or ending, a hook). Until FILE first appears (install, build, vitest start-up) the
// command has --startup seconds; after that, each quiet spell may last --stall seconds. When one lasts longer,
// the watchdog prints what the run was doing (the files started and not ended, and for how long; how many
// files ended; the last step seen), sends SIGTERM to the whole process group, then SIGKILL after a grace
// period, and exits 124. Otherwise it exits with the command's status (128 + n for a signal). SIGINT and
// SIGTERM sent to the watchdog are passed on to the group.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STALLED_EXIT = 124;

function parseArgs(argv) {
  const split = argv.indexOf('--');
  if (split < 0 || split === argv.length - 1)
    throw new Error('usage: watchdog.mjs --progress FILE [--stall S] [--startup S] -- command [args...]');
  const options = { progress: '', stall: 300, startup: 900, grace: 10 };
  const own = argv.slice(0, split);
  for (let i = 0; i < own.length; i += 2) {
    const name = own[i]?.replace(/^--/, '');
    const value = own[i + 1];
    if (!(name in options) || value === undefined) throw new Error(`watchdog: unknown or incomplete option ${own[i]}`);
    options[name] = name === 'progress' ? value : Number(value);
    if (name !== 'progress' && !(options[name] > 0)) throw new Error(`watchdog: --${name} must be a positive number`);
  }
  if (!options.progress) throw new Error('watchdog: --progress FILE is required');
  return { options, command: argv.slice(split + 1) };
}

/** What the progress file says the run was doing: files started and not ended, files ended, the last step. */
export function describeProgress(file, now = Date.now()) {
  if (!existsSync(file)) return ['no progress recorded: vitest never started a test file'];
  const running = new Map();
  let ended = 0;
  let total;
  let last;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      continue; // a line cut short by the kill
    }
    last = record;
    if (record.event === 'run-start') total = record.files;
    if (record.event === 'file-start') running.set(record.file, record);
    if (record.event === 'file-end') {
      running.delete(record.file);
      ended++;
    }
  }
  const seconds = (t) => `${Math.round((now - t) / 1000)} s`;
  const lines = [`${ended}${total === undefined ? '' : ` of ${total}`} test files ended`];
  if (running.size === 0) {
    lines.push('no test file was running: vitest itself was stuck (between files or projects, or at exit)');
  } else {
    lines.push('test files running:');
    for (const [name, r] of running) lines.push(`  ${name} (project ${r.project}), started ${seconds(r.t)} ago`);
  }
  if (last) {
    const what = [last.event, last.file, last.name].filter(Boolean).join(' ');
    lines.push(`last step: ${what}, ${seconds(last.t)} ago`);
  }
  return lines;
}

function main() {
  const { options, command } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit', detached: true });
  let lastSize = -1;
  let lastChange = started;
  let stalled = false;
  let exited = false;

  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => signalGroup(signal));

  const check = () => {
    const now = Date.now();
    const size = existsSync(options.progress) ? statSync(options.progress).size : -1;
    if (size !== lastSize) {
      lastSize = size;
      lastChange = now;
      return;
    }
    const limit = size < 0 ? options.startup : options.stall;
    if (now - lastChange < limit * 1000) return;
    stalled = true;
    clearInterval(timer);
    const report = [
      `watchdog: no progress for ${Math.round((now - lastChange) / 1000)} s (limit ${limit} s); stopping the run`,
      ...describeProgress(options.progress, now).map((l) => `watchdog: ${l}`),
    ];
    process.stderr.write(`\n${report.join('\n')}\n`);
    signalGroup('SIGTERM');
    setTimeout(() => {
      if (!exited) process.stderr.write('watchdog: still running after SIGTERM; sending SIGKILL\n');
      signalGroup('SIGKILL');
    }, options.grace * 1000).unref();
  };
  const timer = setInterval(check, Math.min(5000, Math.max(100, (options.stall * 1000) / 10)));

  child.on('error', (error) => {
    process.stderr.write(`watchdog: could not start ${command[0]}: ${error.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    exited = true;
    clearInterval(timer);
    // Whatever the command left behind in its group (a test's server, a worker) goes too.
    signalGroup('SIGKILL');
    if (stalled) process.exit(STALLED_EXIT);
    process.exit(code ?? 128 + ((signal && { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal]) || 1));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
