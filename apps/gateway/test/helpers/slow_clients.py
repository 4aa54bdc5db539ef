"""Opens N WebSocket connections that stop reading right after the upgrade.

Each socket gets a tiny receive buffer (SO_RCVBUF, set before connect so the
TCP window stays small), so the kernel cannot absorb megabytes on the
consumer's behalf: the gateway's own send buffer is what fills, as with a
real slow consumer on a slow link. Prints "ready <n>" once every upgrade was
answered 101, then holds the sockets (without reading) until stdin closes.

Each socket also announces an Ethernet-sized MSS (TCP_MAXSEG, default 1448).
Over loopback the MSS is 64 KiB, and Linux sizes a new connection's send
buffer from MSS x initial window: about 1.5 MB of kernel memory per
non-reading socket, 1.5 GB for 1,000 of them, which pushes the whole
machine's TCP into memory pressure (net.ipv4.tcp_mem) and throttles every
socket on it. Internet clients get ~100 KB per socket, as here.

usage: slow_clients.py PORT PATH COUNT IP_PREFIX [MSS]   (IP_PREFIX like 127.0.72; MSS 0 = loopback's own)
"""
import sys

from slow_link import upgrade

port, path, count, prefix = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
mss = int(sys.argv[5]) if len(sys.argv) > 5 else 1448
socks = []
for i in range(count):
    ip = f"{prefix}.{i // 10 + 1}"  # 10 per source address: the per-IP limit stays at its default
    s, status = upgrade(port, path, ip, mss)
    if not status.startswith("HTTP/1.1 101"):
        print(f"refused {status[:40]!r}", flush=True)
        sys.exit(1)
    socks.append(s)
print(f"ready {len(socks)}", flush=True)
sys.stdin.read()
