"""The floor under the network figures: a bare asyncio relay of the same bytes on the same topology.

One asyncio server per node on 127.0.0.1 (port 0), one TCP connection per link
of the lab's topology, and nothing else: a node reads a frame (the 24-byte
header, then the payload its length field names) and passes the first copy
on to every other neighbour. No checksum, no parsing, no validation, no
virtual clock. What the lab takes beyond this, for the same frame along the
same links, is the cost of its own layers (scheduler, fabric, peers, node,
chain); `hop` and `flood` print it as a ratio, lab / floor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from lab.bench.drive import now
from lab.bench.machine import raise_fd_limit

HEADER = 24  # magic 4, command 12, length 4, checksum 4: Bitcoin's frame header


class FloorNet:
    """A relay network: `flood(origin, frame)` returns the wall time at which each node first had the frame."""

    def __init__(self, links: dict[str, list[str]]) -> None:
        self.links = links  # node -> its neighbours
        self.writers: dict[tuple[str, str], asyncio.StreamWriter] = {}  # (from, to) -> stream from -> to
        self.servers: dict[str, asyncio.Server] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.seen: dict[str, set[bytes]] = {name: set() for name in links}
        self.times: dict[str, float] = {}
        self.done: asyncio.Future[None] | None = None
        self.wired = asyncio.Event()  # both ends of every link know each other
        self.ends = 0  # link ends expected (two per link)

    @classmethod
    async def open(cls, names: Iterable[str], edges: Iterable[tuple[str, str]]) -> FloorNet:
        links: dict[str, list[str]] = {name: [] for name in names}
        pairs = list(edges)
        for a, b in pairs:
            links[a].append(b)
            links[b].append(a)
        raise_fd_limit(2 * len(pairs) + len(links) + 64)
        net = cls(links)
        net.ends = 2 * len(pairs)
        for name in links:
            net.servers[name] = await asyncio.start_server(net._acceptor(name), "127.0.0.1", 0)
        await asyncio.gather(*(net._dial(a, b) for a, b in pairs))
        net._wired()
        await net.wired.wait()
        return net

    def _wired(self) -> None:
        if len(self.writers) == self.ends:
            self.wired.set()

    async def _dial(self, a: str, b: str) -> None:
        port = self.servers[b].sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(a.encode() + b"\n")  # who is calling: the only handshake
        self.writers[(a, b)] = writer
        self.tasks.append(asyncio.get_running_loop().create_task(self._read(a, b, reader)))
        self._wired()

    def _acceptor(self, b: str) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._accepted(b, reader, writer)
        return accepted

    async def _accepted(self, b: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        a = (await reader.readline()).decode().strip()
        self.writers[(b, a)] = writer
        self.tasks.append(asyncio.get_running_loop().create_task(self._read(b, a, reader)))
        self._wired()

    async def _read(self, me: str, peer: str, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                head = await reader.readexactly(HEADER)
                payload = await reader.readexactly(int.from_bytes(head[16:20], "little"))
                self._got(me, peer, head, head + payload)
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    def _got(self, me: str, sender: str | None, key: bytes, frame: bytes) -> None:
        if key in self.seen[me]:
            return
        self.seen[me].add(key)
        self.times[me] = now()
        for other in self.links[me]:
            if other != sender:
                self.writers[(me, other)].write(frame)
        if len(self.times) == len(self.links) and self.done is not None and not self.done.done():
            self.done.set_result(None)

    async def flood(self, origin: str, frame: bytes, timeout: float = 60.0) -> dict[str, float]:
        """Send `frame` from `origin` (at the returned times' zero) and wait until every node has it."""
        self.times = {}
        self.done = asyncio.get_running_loop().create_future()
        t0 = now()
        self._got(origin, None, frame[:HEADER], frame)
        await asyncio.wait_for(self.done, timeout)
        return {name: t - t0 for name, t in self.times.items() if name != origin}

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for writer in self.writers.values():
            writer.close()
        for server in self.servers.values():
            server.close()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for server in self.servers.values():
            await server.wait_closed()
