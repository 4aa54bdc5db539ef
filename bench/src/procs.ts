/**
 * Child processes of a bench run, and what the bench reads about them. Every
 * child is registered here and killed on exit, SIGINT or SIGTERM; every wait
 * has a deadline.
 */
import { type ChildProcess, execFileSync, fork, type SpawnOptions, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { gunzipSync } from 'node:zlib';

const children = new Set<ChildProcess>();

export function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function killAll(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

let hooked = false;
export function installExitHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      console.error(`\nbench: ${sig}, stopping children`);
      killAll();
      process.exit(130);
    });
  }
}

/** Pins a running process (all its threads) to `cpus`, e.g. '1'. Best effort. */
export function pin(pid: number, cpus: string): void {
  try {
    execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
  } catch {
    // taskset missing or not permitted: the run is still valid, less isolated
  }
}

export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Spawns `cmd args` pinned to `cpus` (through taskset when present). With
 * `ownSession`, the child starts a session of its own (setsid): where the
 * kernel groups CPU time by session (autogroup, on by default on desktop and
 * many server kernels), it then competes with the machine's other sessions as
 * one of them, instead of sharing the bench's one share with the bench's
 * other children. It is still tracked and killed like any other child.
 */
export function spawnPinned(
  cpus: string | null,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
  ownSession = false,
): ChildProcess {
  const useTaskset = cpus !== null && hasTaskset();
  const options: SpawnOptions = { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: ownSession };
  const child = useTaskset ? spawn('taskset', ['-c', cpus, cmd, ...args], options) : spawn(cmd, args, options);
  return track(child);
}

/** Whether the kernel shares CPU time between sessions first (/proc/sys/kernel/sched_autogroup_enabled). */
export function autogroupEnabled(): boolean | null {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
  } catch {
    return null;
  }
}

export function forkPinned(cpus: string, module: string): ChildProcess {
  const child = track(fork(module, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }));
  if (child.pid) pin(child.pid, cpus);
  return child;
}

/** Resolves with the first stdout line for which `pick` returns a value. */
export function waitForLine<T>(child: ChildProcess, pick: (line: string) => T | undefined, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let errBuf = '';
    const timer = setTimeout(() => done(new Error(`no ready line within ${ms} ms: ${errBuf.slice(-400)}`)), ms);
    const onData = (chunk: Buffer) => {
      buf += chunk.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const v = pick(line);
        if (v !== undefined) {
          done(null, v);
          return;
        }
        nl = buf.indexOf('\n');
      }
    };
    const onErr = (chunk: Buffer) => {
      errBuf = (errBuf + chunk.toString()).slice(-2000);
    };
    const onExit = (code: number | null) => done(new Error(`exited (${code}) before ready: ${errBuf.slice(-400)}`));
    const done = (err: Error | null, v?: T) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      // keep draining output so the child never blocks on a full pipe
      child.stdout?.resume();
      if (err) reject(err);
      else resolve(v as T);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A progress printer that prefixes each line with the seconds since it was made: `[  12s] line`. */
export function elapsedProgress(): (line: string) => void {
  const started = performance.now();
  return (line) => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}`);
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system, all threads) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

/**
 * User and system CPU seconds of a process (all threads). Kernels without
 * CONFIG_IRQ_TIME_ACCOUNTING charge softirq work (on loopback: the receiving
 * side of every TCP segment the process sends, run in its context) to `sys`.
 */
export function cpuTimes(pid: number): { user: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14, stime field 15
    return { user: Number(fields[11]) / CLK_TCK, sys: Number(fields[12]) / CLK_TCK };
  } catch {
    return { user: Number.NaN, sys: Number.NaN };
  }
}

/** Busy and total jiffies of one CPU (all processes, from /proc/stat): how saturated the client core is. */
export function coreJiffies(cpu: number): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`cpu${cpu} `));
    if (!line) return { busy: Number.NaN, total: Number.NaN };
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/**
 * Seconds the process' main thread (a Node process' event loop) has run and
 * has waited runnable for a CPU, from /proc/<pid>/schedstat: the wait is the
 * share of a stall the machine's other work caused, not the process.
 */
export function schedTimes(pid: number): { runS: number; waitS: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { runS: (run ?? Number.NaN) / 1e9, waitS: (wait ?? Number.NaN) / 1e9 };
  } catch {
    return { runS: Number.NaN, waitS: Number.NaN };
  }
}

/** Resident set size in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export function machineInfo() {
  const cpus = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? 'unknown';
    } catch {
      return 'unknown';
    }
  })();
  return { cpuModel: cpus, commit: gitCommit() };
}

/** The checkout measured: short commit id, with "+changes" when the work tree differs from it. */
function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return 'unknown';
  }
}

/**
 * Whether the kernel accounts softirq time separately (CONFIG_IRQ_TIME_ACCOUNTING).
 * When it does not, softirq work (on loopback, the receive path of every segment
 * a process sends) is charged to the process that happened to run it. null: unknown.
 */
export function irqTimeAccounting(): boolean | null {
  try {
    const config = gunzipSync(readFileSync('/proc/config.gz')).toString();
    if (/^CONFIG_IRQ_TIME_ACCOUNTING=y$/m.test(config)) return true;
    if (/^# CONFIG_IRQ_TIME_ACCOUNTING is not set$/m.test(config)) return false;
    return null;
  } catch {
    return null;
  }
}
