"""A WebSocket client socket on an internet-like slow link, for the test helpers.

The socket gets a tiny receive buffer (SO_RCVBUF, set before connect so the
TCP window stays small) and an Ethernet-sized MSS (TCP_MAXSEG; 0 keeps
loopback's 64 KiB), so the kernel cannot absorb megabytes on the reader's
behalf: the gateway's own send buffer is what fills, as with a real client
on a slow link. See slow_clients.py for why the MSS matters on loopback.
"""
import base64
import os
import socket


def upgrade(port, path, local_ip, mss=1448):
    """Connects from local_ip and upgrades. Returns (socket, status line, bytes read past the response head).

    The response head is read one byte at a time, so nothing of the stream is consumed with it.
    """
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    if mss:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    s.bind((local_ip, 0))
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    return s, head.split(b"\r\n", 1)[0].decode(errors="replace")
