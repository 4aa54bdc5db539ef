import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every child the soak started that has not exited: a SIGINT or SIGTERM of the soak takes them down too. */
const children = new Set<ChildProcess>();

/** Registers a child of the soak (see stopChildrenOnSignal); returns it. */
export function adopt<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * On SIGINT or SIGTERM the soak SIGKILLs every child it started (gateways, publisher, Redis, client
 * workers) and exits 130 / 143: a signal sent to the soak alone (not to its whole process group, as a
 * terminal's Ctrl-C is) leaves nothing running.
 */
export function stopChildrenOnSignal(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      for (const child of children) child.kill('SIGKILL');
      process.exit(code);
    });
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server child with an append-only file fsynced on every write: SIGKILL loses no acknowledged event. */
export class SoakRedis {
  private child: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'hydra-soak-redis-'));

  private constructor(readonly port: number) {}

  static async start(): Promise<SoakRedis> {
    const redis = new SoakRedis(await freePort());
    await redis.launch();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--enable-debug-command',
      'yes',
      '--protected-mode',
      'no',
    ];
    const proc = adopt(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.child = proc;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output.slice(-500)}`)), 20_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          proc.stdout?.off('data', onData);
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.resume();
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
      });
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.child;
    this.child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const NOTABLE = ['subscription gap filled from history', 'sequence gap on the backplane subscription', 'resync failed'];

/** One of our processes (gateway or publisher) from its built dist, with its pino lines parsed. */
export class Service {
  readonly child: ChildProcess;
  readonly exited: Promise<number | string>;
  private buffered = '';
  private stderrTail = '';
  private readonly waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  /** Recovery lines (gap filled, gap → resync), for the report. */
  readonly notable: string[] = [];
  /** Lines at level ≥ 50 (error, fatal), for the report. */
  readonly errors: string[] = [];
  expectedExit = false;

  constructor(
    readonly name: string,
    script: string,
    env: Record<string, string>,
  ) {
    this.child = adopt(
      spawn(process.execPath, [script], {
        cwd: REPO_ROOT,
        env: { ...process.env, HYDRA_LOG_LEVEL: 'info', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    this.child.stdout?.on('data', (chunk: Buffer) => this.onStdout(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  }

  get stderr(): string {
    return this.stderrTail;
  }

  waitForLog(match: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no matching log line in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}) before the log line: ${this.stderrTail.slice(-1000)}`));
      });
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.expectedExit = true;
    this.child.kill(signal);
  }

  async stop(): Promise<void> {
    this.expectedExit = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  private onStdout(chunk: Buffer): void {
    this.buffered += chunk.toString();
    let nl = this.buffered.indexOf('\n');
    while (nl >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      nl = this.buffered.indexOf('\n');
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { msg: line };
      }
      if (typeof parsed.msg === 'string' && NOTABLE.some((n) => (parsed.msg as string).startsWith(n))) {
        this.notable.push(JSON.stringify(parsed).slice(0, 400));
      }
      if (typeof parsed.level === 'number' && parsed.level >= 50 && this.errors.length < 50) {
        this.errors.push(`${parsed.msg}${parsed.err ? ` (${JSON.stringify(parsed.err).slice(0, 200)})` : ''}`);
      }
      for (const w of [...this.waiters]) {
        if (w.match(parsed)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  }
}

export interface GatewayHandle {
  service: Service;
  port: number;
  adminPort: number;
  url: string;
}

export async function startGateway(name: string, env: Record<string, string>): Promise<GatewayHandle> {
  const service = new Service(name, 'apps/gateway/dist/main.js', {
    HYDRA_HOST: '127.0.0.1',
    HYDRA_PORT: '0',
    HYDRA_ADMIN_PORT: '0',
    ...env,
  });
  const line = await service.waitForLog((l) => l.msg === 'listening');
  const port = Number(line.port);
  return { service, port, adminPort: Number(line.adminPort), url: `ws://127.0.0.1:${port}/v1/stream` };
}

export async function startPublisher(env: Record<string, string>): Promise<{ service: Service; ingestUrl: string }> {
  const service = new Service('publisher', 'apps/publisher/dist/main.js', { HYDRA_PUBLISHER_PORT: '0', ...env });
  const line = await service.waitForLog((l) => l.msg === 'publisher listening');
  return { service, ingestUrl: `http://127.0.0.1:${line.port}/v1/events` };
}
