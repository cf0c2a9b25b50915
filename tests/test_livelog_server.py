"""The worker's live-log server, alone: readers streaming one log at the same
time each get every write as it is made, not at the next write or the close."""

from __future__ import annotations

import asyncio

import aiohttp
from helpers import until

from tc_notebook.worker.livelog import LiveLogServer

WRITES = 40
STEP_SECONDS = 5.0  # for one write to reach both readers: far more than it takes


async def _read(url: str, received: bytearray) -> None:
    async with aiohttp.ClientSession() as session, session.get(url) as reply:
        assert reply.status == 200
        async for chunk in reply.content.iter_any():
            received.extend(chunk)


def test_two_readers_each_get_every_write_as_it_comes(tmp_path):
    """Each write reaches both readers before the next one is made: a reader
    woken late (or never, until the next write) fails the step's wait."""

    async def scenario() -> None:
        server = LiveLogServer()
        await server.start()
        log = server.open(tmp_path / "run.log")
        received = [bytearray(), bytearray()]
        readers = [asyncio.create_task(_read(server.url_of(log), got)) for got in received]
        try:
            await until(lambda: server.readers == 2, STEP_SECONDS, "both readers to connect")
            written = b""
            for number in range(WRITES):
                piece = f"line {number}\n".encode()
                log.write(piece)
                written += piece
                await until(lambda sent=written: all(got == sent for got in received),
                            STEP_SECONDS, f"write {number} to reach both readers",
                            interval=0.005)
            log.close()
            await asyncio.wait_for(asyncio.gather(*readers), STEP_SECONDS)
            assert [bytes(got) for got in received] == [written, written]
        finally:
            for reader in readers:
                reader.cancel()
            log.close()
            await server.stop()

    asyncio.run(scenario())

