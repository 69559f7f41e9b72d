"""Opening lab links: a real TCP connection between two nodes of this lab.

Both ends live in this process. The connecting side tells the fabric which
local port it connects from, so the accepting side recognises the new
connection as a lab link (timed by the fabric) and not an outsider's.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sys
from typing import TYPE_CHECKING

from lab.net.connection import Connection
from lab.net.peer import Peer

if TYPE_CHECKING:
    from lab.net.fabric import Fabric
    from lab.net.node import Node


def raise_fd_limit(needed: int) -> int:
    """Lift the soft limit on open files to `needed` (never above the hard limit); the soft limit after.

    Every node listens on a socket and every link is two sockets, all in this one
    process: 1,000 nodes at random 4 hold ~9,000 descriptors, and macOS starts a
    process with a soft limit of 256.
    """
    try:
        import resource as r
    except ImportError:  # Windows: no such limit
        return -1
    soft, hard = r.getrlimit(r.RLIMIT_NOFILE)
    if soft == r.RLIM_INFINITY or soft >= needed:
        return soft
    for want in (needed if hard == r.RLIM_INFINITY else min(needed, hard), 10_240):  # macOS caps at OPEN_MAX
        try:
            r.setrlimit(r.RLIMIT_NOFILE, (max(soft, want), hard))
            return max(soft, want)
        except (ValueError, OSError):
            continue
    return soft


async def open_lab_links(fabric: Fabric, pairs: list[tuple[Node, Node]]) -> list[tuple[Node, Node]]:
    """Open the TCP connections for `pairs` at once, then start each handshake in order; the pairs linked."""
    results = await asyncio.gather(*(_open(fabric, na, nb) for na, nb in pairs))
    done = []
    for (na, nb), pair in zip(pairs, results, strict=True):
        if pair is None:
            continue
        pa, pb = Peer(pair[0]), Peer(pair[1])
        na.add_lab_peer(pa)
        nb.add_lab_peer(pb)
        na.start_handshake(pa)
        done.append((na, nb))
    return done


async def _open(fabric: Fabric, a: Node, b: Node) -> tuple[Connection, Connection] | None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # asyncio turns Nagle off only for sockets made with proto=IPPROTO_TCP; without this
    # every small frame (inv, getdata) from the connecting side waits for the peer's ACK
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    claim = loop.create_future()
    try:
        if sys.platform == "win32" or a.host != b.host:
            sock.bind((a.host, 0))
            fabric.expect(b.name, sock.getsockname()[1], claim)
            await loop.sock_connect(sock, (b.host, b.port))
        else:
            # Let connect() pick the local port: bind(host, 0) first made Linux search its
            # port table, ~2 ms a link once thousands of sockets are open (1,000 nodes:
            # 5-11 s of connecting). The port is known as connect_ex returns, before the
            # listener can accept, so the accepting side is still recognised as this link.
            err = sock.connect_ex((b.host, b.port))
            fabric.expect(b.name, sock.getsockname()[1], claim)
            if err not in (0, errno.EISCONN):
                if err not in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
                    raise OSError(err, os.strerror(err))
                await loop.sock_connect(sock, (b.host, b.port))  # EALREADY: waits until writable
        _, ca = await loop.create_connection(
            lambda: Connection(a, inbound=False, remote=b.name, lab_link=True), sock=sock)
        cb: Connection = await asyncio.wait_for(claim, 5)
    except (TimeoutError, OSError):
        sock.close()
        return None
    cb.remote = a.name
    ca.twin, cb.twin = cb, ca
    return ca, cb


async def reattach_lab_links(fabric: Fabric, nodes: dict[str, Node],
                             pairs: list[tuple[Connection, Connection]]) -> bool:
    """Give each (outbound, inbound) pair of a thawed lab a new TCP connection; False if one failed.

    The two ends keep their state (frame counts, inbox, peer); only the transports are new:
    a connection is opened the usual way and its transports are handed to the old ends.
    """
    opened = await asyncio.gather(*(_open(fabric, nodes[out.owner.name], nodes[inb.owner.name])
                                    for out, inb in pairs))
    ok = True
    for (out, inb), pair in zip(pairs, opened, strict=True):
        if pair is None:
            ok = False
            continue
        for old, new in ((out, pair[0]), (inb, pair[1])):
            transport = new.transport
            assert transport is not None
            transport.set_protocol(old)
            old.transport = transport
    return ok
