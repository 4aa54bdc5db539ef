import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayProcess, ReceivedMessage } from '@hydra/test-support';
import { StreamFixture } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

/**
 * TLS on the gateway (HYDRA_TLS_CERT_FILE / HYDRA_TLS_KEY_FILE) for
 * deployments without an ingress: `wss://` on the stream port, while the
 * admin port (probes, /metrics) stays plain HTTP inside the cluster.
 */
describe('TLS on the stream port', () => {
  let f: StreamFixture;
  let gw: GatewayProcess;
  let dir: string;
  let certFile: string;
  let keyFile: string;
  let ca: Buffer;
  let key: string;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hydra-tls-'));
    certFile = join(dir, 'cert.pem');
    keyFile = join(dir, 'key.pem');
    // Self-signed, valid for the loopback address the test dials, so the client verifies it against `ca`.
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
        ...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
      ],
      { stdio: 'pipe' },
    );
    ca = readFileSync(certFile);
    f = await StreamFixture.start();
    key = (await f.key(['signals'])).key;
    gw = await f.gateway({ HYDRA_TLS_CERT_FILE: certFile, HYDRA_TLS_KEY_FILE: keyFile });
  });
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await f?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const streamPath = () => `/v1/stream?apiKey=${encodeURIComponent(key)}`;

  /** Opens a socket and collects its messages; resolves once `until` holds over them. */
  function collect(
    url: string,
    options: WebSocket.ClientOptions,
    until: (messages: ReceivedMessage[]) => boolean,
  ): { ws: WebSocket; done: Promise<ReceivedMessage[]> } {
    const ws = new WebSocket(url, options);
    sockets.push(ws);
    const messages: ReceivedMessage[] = [];
    const done = new Promise<ReceivedMessage[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(messages)}`)), 10_000);
      ws.on('message', (data) => {
        messages.push(JSON.parse(data.toString()) as ReceivedMessage);
        if (until(messages)) {
          clearTimeout(timer);
          resolve(messages);
        }
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    return { ws, done };
  }

  it('serves wss:// with the configured certificate: connected, snapshot, then live events', async () => {
    const seq = await f.publish('signals', { kind: 'rf', label: 'before' });
    const { ws, done } = collect(`wss://127.0.0.1:${gw.port}${streamPath()}`, { ca }, (m) =>
      m.some((x) => x.type === 'snapshot'),
    );
    const first = await done;
    expect(first[0]?.type).toBe('connected');
    expect(first[1]).toMatchObject({ type: 'snapshot', data: { scope: 'signals', seq } });

    const live = new Promise<ReceivedMessage>((resolve) =>
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as ReceivedMessage;
        if (m.type === 'signals') resolve(m);
      }),
    );
    await f.publish('signals', { kind: 'rf', label: 'over tls' });
    expect(await live).toMatchObject({ type: 'signals', seq: seq + 1, data: { label: 'over tls' } });

    // It is the certificate we generated that the client verified.
    const socket = (ws as unknown as { _socket: import('node:tls').TLSSocket })._socket;
    expect(socket.encrypted).toBe(true);
    expect(socket.authorized).toBe(true);
    expect(socket.getPeerCertificate().subject.CN).toBe('localhost');
  });

  it('refuses a certificate the client does not trust (no `ca`)', async () => {
    const { done } = collect(`wss://127.0.0.1:${gw.port}${streamPath()}`, {}, () => true);
    await expect(done).rejects.toThrow(/self[- ]signed/i);
  });

  it('does not speak plain ws:// on the TLS port', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}${streamPath()}`);
    sockets.push(ws);
    const outcome = await new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
      ws.once('error', (err) => resolve(`error: ${err.message}`));
    });
    expect(outcome).toMatch(/^error: /);
  });

  it('keeps the admin port on plain HTTP (probes and /metrics)', async () => {
    const admin = `http://127.0.0.1:${gw.adminPort}`;
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    const ready = await fetch(`${admin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ready\n');
    const { done } = collect(`wss://127.0.0.1:${gw.port}${streamPath()}`, { ca }, (m) =>
      m.some((x) => x.type === 'connected'),
    );
    await done;
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(metrics).toMatch(/^hydra_connections [1-9]/m);
  });

  it('stops at start, naming the problem, when the certificate cannot be loaded', async () => {
    const bad = f.spawnGateway({ HYDRA_TLS_CERT_FILE: join(dir, 'missing.pem'), HYDRA_TLS_KEY_FILE: keyFile });
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toMatch(/HYDRA_TLS_CERT_FILE cannot be read: .*missing\.pem/);
  });
});
