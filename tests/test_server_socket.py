"""The server's listening socket lets asyncio turn Nagle off on every connection it accepts."""

from __future__ import annotations

import asyncio
import socket

from tests.conftest import run_coroutine
from trackio_nb.remote.commands import _bind


def test_accepted_connections_get_tcp_nodelay():
    # Without TCP_NODELAY every answer waited ~40 ms for the client's delayed ACK (one batch per
    # 44 ms per connection). asyncio sets it on accepted sockets only when their protocol is TCP.
    async def accept_one() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=_bind("127.0.0.1", 0))
        async with server:
            port = server.sockets[0].getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                return await asyncio.wait_for(accepted, 10)
            finally:
                writer.close()

    assert run_coroutine(accept_one(), 30) == 1
