// What a team writes by hand: `ws` + one ioredis subscriber, a loop over the
// clients of each scope, a ping timer.
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 0);
const SCOPES = ['signals', 'aircraft', 'vessels', 'alerts', 'cyber'];
const byScope = new Map(SCOPES.map((s) => [s, new Set()]));
const server = createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const q = new URL(req.url, 'http://x').searchParams;
  const scopes = (q.get('scopes') ?? 'signals').split(',').filter((s) => byScope.has(s));
  ws.isAlive = true;
  ws.on('pong', () => {
    ws.isAlive = true;
  });
  for (const s of scopes) byScope.get(s).add(ws);
  ws.on('close', () => {
    for (const s of scopes) byScope.get(s).delete(ws);
  });
});
setInterval(
  () => {
    for (const ws of wss.clients) {
      if (!ws.isAlive) {
        ws.terminate();
        continue;
      }
      ws.isAlive = false;
      ws.ping();
    }
  },
  Number(process.env.PING_MS ?? 15000),
).unref();
const sub = new Redis(process.env.REDIS_URL);
await sub.subscribe(...SCOPES.map((s) => `bench:${s}`));
sub.on('messageBuffer', (channel, message) => {
  const clients = byScope.get(channel.toString().slice(6));
  if (!clients) return;
  for (const ws of clients) ws.send(message, { binary: false });
});
server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: server.address().port }));
});
process.on('SIGTERM', () => process.exit(0));
