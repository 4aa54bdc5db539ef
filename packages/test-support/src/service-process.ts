import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A real child process of ours (gateway or publisher) started from its built dist. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log lines seen so far (pino output). */
  readonly logs: Record<string, unknown>[];
  readonly stderr: () => string;
  /** Resolves with the first log line matching `match` (rejects if the process exits first). */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name) once it exits. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGKILL if still running, and waits for the exit. */
  stop(): Promise<void>;
}

export function spawnService(script: string, env: Record<string, string>, args: string[] = []): ServiceProcess {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, HYDRA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  // HYDRA_TEST_LOG_DIR: every process' stdout is also kept there, one file each (to read a failure's logs after it).
  const logDir = process.env.HYDRA_TEST_LOG_DIR;
  const logFile = logDir ? createWriteStream(join(logDir, `${basename(script, '.js')}-${child.pid}.log`)) : null;
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
    [];
  let stderrText = '';
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    logFile?.write(chunk);
    buffered += chunk.toString();
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { msg: line };
      }
      logs.push(parsed);
      for (const w of [...waiters]) {
        if (w.match(parsed)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrText += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      logFile?.end();
      resolve(code ?? signal ?? -1);
    });
  });
  return {
    child,
    logs,
    stderr: () => stderrText,
    exited,
    waitForLog(match, timeoutMs = 20_000) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const recent = logs.slice(-10).map((l) => JSON.stringify(l).slice(0, 300));
          reject(
            new Error(
              `timed out waiting for log line; recent stdout:\n${recent.join('\n')}\nstderr: ${stderrText.slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`process exited (${code}) before the log line; stderr: ${stderrText.slice(-2000)}`));
        });
      });
    },
    kill(signal = 'SIGTERM') {
      child.kill(signal);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface GatewayProcess extends ServiceProcess {
  readonly port: number;
  readonly adminPort: number;
  readonly url: string;
}

/** Starts `apps/gateway/dist/main.js` on free ports and waits until it listens. */
export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const service = spawnService('apps/gateway/dist/main.js', {
    HYDRA_HOST: '127.0.0.1',
    HYDRA_PORT: '0',
    HYDRA_ADMIN_PORT: '0',
    ...env,
  });
  const line = await service.waitForLog((l) => l.msg === 'listening');
  const port = Number(line.port);
  return { ...service, port, adminPort: Number(line.adminPort), url: `ws://127.0.0.1:${port}/v1/stream` };
}
