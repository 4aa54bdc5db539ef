/**
 * The servers under test, each started on its own free port against the
 * run's Redis, its client-holding process pinned to the server core.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { peersDir, repoDir } from './paths.js';
import { freePort, spawnPinned, stopChild, waitForLine } from './procs.js';
import type { ClientProtocol, PublishPlan } from './protocol.js';

export type TargetKind = 'hydra' | 'hydra-coalesced' | 'sio' | 'uws' | 'ws' | 'soketi' | 'centrifuge';

/**
 * HYDRA_WRITE_COALESCE_MS of the `hydra-coalesced` target (the `hydra` target runs every default);
 * HYDRA_BENCH_COALESCE_MS sets another.
 */
export const COALESCE_MS = Number(process.env.HYDRA_BENCH_COALESCE_MS) || 50;

export const TARGET_LABEL: Record<TargetKind, string> = {
  hydra: 'Hydra gateway',
  'hydra-coalesced': `Hydra, ${COALESCE_MS} ms write coalescing`,
  sio: 'Socket.IO 4 + redis-adapter',
  uws: 'bare uWS + ioredis',
  ws: 'ws + ioredis',
  soketi: 'soketi 1.6',
  centrifuge: 'Centrifuge (Go)',
};

const centrifugeDir = `${peersDir}/centrifuge`;
const centrifugeBin = `${centrifugeDir}/centrifuge-server`;

/**
 * Builds the Centrifuge peer (bench/peers/centrifuge, Go, Debian's packaged
 * libraries in GOPATH mode) when its binary is missing or older than its
 * source. Returns why it cannot run, or null when it is ready.
 */
export function buildCentrifuge(): string | null {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    return '`go` is not installed (apt-get install golang-go golang-github-centrifugal-centrifuge-dev …, see bench/README.md)';
  }
  const src = `${centrifugeDir}/main.go`;
  if (existsSync(centrifugeBin) && statSync(centrifugeBin).mtimeMs >= statSync(src).mtimeMs) return null;
  try {
    execFileSync('go', ['build', '-o', centrifugeBin, '.'], {
      cwd: centrifugeDir,
      env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode' },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    });
    return null;
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    return `the Centrifuge server did not build (is golang-github-centrifugal-centrifuge-dev installed?): ${stderr.split('\n').slice(0, 3).join(' ')}`;
  }
}

export interface RunningTarget {
  kind: TargetKind;
  port: number;
  adminPort: number;
  /** The process holding the clients (CPU and RSS are read from it). */
  pid: number;
  pids: number[];
  protocol: ClientProtocol;
  publishTarget: PublishPlan['target'];
  httpPort?: number;
  stop(): Promise<void>;
}

export interface TargetOptions {
  redisUrl: string;
  /**
   * Hydra gateways: the backplane's variables (HYDRA_REDIS_CLUSTER_NODES, …) instead of
   * HYDRA_REDIS_URL=redisUrl (the topology mode's cluster).
   */
  redisEnv?: Readonly<Record<string, string>>;
  redisPort: number;
  serverCpus: string;
  sideCpus: string;
  pingMs: number;
  /** Hydra gateways: HYDRA_RETENTION, when not the default. */
  retention?: string;
  /** Hydra gateways: another build's main.js (the scale mode's before/after), and more environment. */
  gatewayMain?: string;
  gatewayEnv?: Record<string, string>;
  /** Hydra gateways: a session of its own (spawnPinned's `ownSession`), so the bench's other children do not share its CPU. */
  ownSession?: boolean;
}

const listeningPort = (line: string): number | undefined => {
  try {
    const o = JSON.parse(line) as { listening?: number; msg?: string; port?: number };
    if (typeof o.listening === 'number') return o.listening;
    if (o.msg === 'listening' && typeof o.port === 'number') return o.port;
  } catch {
    // not a JSON line
  }
  return undefined;
};

/** Extra Node flags for the gateways under test (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a scenario). */
const gatewayNodeArgs = (process.env.HYDRA_BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);

async function startNode(
  cpus: string,
  script: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  nodeArgs: string[] = [],
  ownSession = false,
) {
  const child = spawnPinned(cpus, process.execPath, [...nodeArgs, script], { ...process.env, ...env }, cwd, ownSession);
  child.stderr?.resume();
  const port = await waitForLine(child, listeningPort, 20_000);
  return { child, port };
}

export async function startTarget(kind: TargetKind, o: TargetOptions): Promise<RunningTarget> {
  const stopAll = (children: ChildProcess[]) => async () => {
    await Promise.all(children.map((c) => stopChild(c, 3000)));
  };
  switch (kind) {
    case 'hydra':
    case 'hydra-coalesced': {
      const adminPort = await freePort();
      const { child, port } = await startNode(
        o.serverCpus,
        o.gatewayMain ?? `${repoDir}/apps/gateway/dist/main.js`,
        {
          ...(o.redisEnv ?? { HYDRA_REDIS_URL: o.redisUrl }),
          HYDRA_HOST: '127.0.0.1',
          HYDRA_PORT: '0',
          HYDRA_ADMIN_PORT: String(adminPort),
          HYDRA_LOG_LEVEL: 'info',
          HYDRA_PING_INTERVAL_MS: String(o.pingMs),
          HYDRA_DRAIN_MS: '0',
          ...(o.retention ? { HYDRA_RETENTION: o.retention } : {}),
          ...(kind === 'hydra-coalesced' ? { HYDRA_WRITE_COALESCE_MS: String(COALESCE_MS) } : {}),
          ...o.gatewayEnv,
        },
        repoDir,
        gatewayNodeArgs,
        o.ownSession,
      );
      const pid = child.pid ?? 0;
      return {
        kind,
        port,
        adminPort,
        pid,
        pids: [pid],
        protocol: 'hydra',
        publishTarget: 'hydra',
        stop: stopAll([child]),
      };
    }
    case 'sio':
    case 'uws':
    case 'ws': {
      const { child, port } = await startNode(
        o.serverCpus,
        `${peersDir}/${kind}-server.mjs`,
        { PORT: '0', REDIS_URL: o.redisUrl, PING_MS: String(o.pingMs) },
        peersDir,
      );
      const pid = child.pid ?? 0;
      return {
        kind,
        port,
        adminPort: 0,
        pid,
        pids: [pid],
        protocol: kind === 'sio' ? 'sio' : 'raw',
        publishTarget: kind === 'sio' ? 'sio' : 'raw',
        stop: stopAll([child]),
      };
    }
    case 'centrifuge': {
      // Two nodes on the Redis broker, like soketi: the publish API node on
      // the side core, the node holding the clients on the server core.
      const env = { REDIS_ADDR: `127.0.0.1:${o.redisPort}`, PING_MS: String(o.pingMs), PORT: '0' };
      const start = async (cpus: string, mode: string) => {
        const child = spawnPinned(cpus, centrifugeBin, [], { ...process.env, ...env, MODE: mode }, centrifugeDir);
        child.stderr?.resume();
        const port = await waitForLine(child, listeningPort, 20_000);
        return { child, port };
      };
      const api = await start(o.sideCpus, 'api');
      const b = await start(o.serverCpus, 'clients');
      const pid = b.child.pid ?? 0;
      return {
        kind,
        port: b.port,
        adminPort: 0,
        pid,
        pids: [pid, api.child.pid ?? 0],
        protocol: 'centrifuge',
        publishTarget: 'centrifuge',
        httpPort: api.port,
        stop: stopAll([api.child, b.child]),
      };
    }
    case 'soketi': {
      // Two nodes on the Redis adapter: the HTTP publish lands on node A (side
      // core), which relays through Redis to node B holding the clients. Every
      // address stays on 127.0.0.1 (no UDP discovery broadcast off the machine).
      const common = {
        SOKETI_HOST: '127.0.0.1',
        SOKETI_METRICS_HOST: '127.0.0.1',
        SOKETI_CLUSTER_HOST: '127.0.0.1',
        SOKETI_CLUSTER_UNICAST_ADDRESSES: '127.0.0.1:11002',
        SOKETI_ADAPTER_DRIVER: 'redis',
        SOKETI_DB_REDIS_HOST: '127.0.0.1',
        SOKETI_DB_REDIS_PORT: String(o.redisPort),
        SOKETI_DEBUG: '0',
        // A burst of the publisher is one batch_events request (see publisher.ts).
        SOKETI_EVENT_MAX_BATCH_SIZE: '100',
      };
      const bin = `${peersDir}/node_modules/@soketi/soketi/bin/server.js`;
      const start = async (cpus: string, clusterPort: number) => {
        const port = await freePort();
        const metricsPort = await freePort();
        const child = spawnPinned(cpus, process.execPath, [bin, 'start'], {
          ...process.env,
          ...common,
          SOKETI_PORT: String(port),
          SOKETI_METRICS_SERVER_PORT: String(metricsPort),
          SOKETI_CLUSTER_PORT: String(clusterPort),
        });
        child.stderr?.resume();
        await waitForLine(child, (l) => (/Server is up and running|running/i.test(l) ? true : undefined), 30_000);
        return { child, port };
      };
      const a = await start(o.sideCpus, 11002);
      const b = await start(o.serverCpus, 11003);
      const pid = b.child.pid ?? 0;
      return {
        kind,
        port: b.port,
        adminPort: 0,
        pid,
        pids: [pid, a.child.pid ?? 0],
        protocol: 'pusher',
        publishTarget: 'pusher',
        httpPort: a.port,
        stop: stopAll([a.child, b.child]),
      };
    }
  }
}

/** Request paths, one per subscription pattern, for the target's protocol. */
export function clientPaths(
  t: RunningTarget,
  subs: number[][],
  scopeNames: readonly string[],
  keys: string[],
  snapshot: boolean,
): string[] {
  return subs.map((s, i) => {
    const names = s.map((x) => scopeNames[x]).join(',');
    switch (t.protocol) {
      case 'hydra':
        return `/v1/stream?apiKey=${encodeURIComponent(keys[i % keys.length] as string)}${snapshot ? '' : '&snapshot=false'}`;
      case 'sio':
        return `/socket.io/?EIO=4&transport=websocket&scopes=${names}`;
      case 'pusher':
        return '/app/app-key?protocol=7&client=js&version=7.0.0&flash=false';
      case 'raw':
        return `/?scopes=${names}`;
      case 'centrifuge':
        return `/connection/websocket?scopes=${names}`;
      default:
        throw new Error(`unknown protocol ${String(t.protocol)}`);
    }
  });
}
