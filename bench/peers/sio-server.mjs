// Socket.IO 4 + @socket.io/redis-adapter: the primary peer. Clients join one
// room per scope named in `?scopes=`; events arrive from @socket.io/redis-emitter.
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 0);
const pub = new Redis(process.env.REDIS_URL);
const sub = pub.duplicate();
const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  pingInterval: Number(process.env.PING_MS ?? 25000),
  pingTimeout: 20000,
  perMessageDeflate: false,
  adapter: createAdapter(pub, sub),
});
io.on('connection', (socket) => {
  const scopes = String(socket.handshake.query.scopes ?? 'signals').split(',');
  for (const s of scopes) socket.join(s);
});
httpServer.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: httpServer.address().port }));
});
process.on('SIGTERM', () => process.exit(0));
