// Bare uWebSockets.js + ioredis fan-out: the ceiling for any feature set on
// uWS. One Redis subscriber; each message goes to app.publish(scope, msg).

import uWS from 'uWebSockets.js';
import { Redis } from 'ioredis';

const port = Number(process.env.PORT ?? 0);
const pingSeconds = Math.max(8, Math.round(Number(process.env.PING_MS ?? 15000) / 1000));
const SCOPES = ['signals', 'aircraft', 'vessels', 'alerts', 'cyber'];
const app = uWS.App();
app.ws('/*', {
  compression: 0,
  idleTimeout: pingSeconds,
  sendPingsAutomatically: true,
  maxBackpressure: 8 * 1024 * 1024,
  upgrade: (res, req, context) => {
    const q = new URLSearchParams(req.getQuery() ?? '');
    res.upgrade(
      { scopes: (q.get('scopes') ?? 'signals').split(',') },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    for (const s of ws.getUserData().scopes) ws.subscribe(s);
  },
});
const sub = new Redis(process.env.REDIS_URL);
await sub.subscribe(...SCOPES.map((s) => `bench:${s}`));
sub.on('messageBuffer', (channel, message) => {
  app.publish(channel.toString().slice(6), message, false, false);
});
app.listen('127.0.0.1', port, (token) => {
  if (!token) process.exit(1);
  console.log(JSON.stringify({ listening: uWS.us_socket_local_port(token) }));
});
process.on('SIGTERM', () => process.exit(0));
