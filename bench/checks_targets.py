"""Local targets for the health-check benchmark, on 127.0.0.1 only.
Standard library only.

    python3 checks_targets.py PORTS_FILE

Serves three kinds of target from one asyncio loop and writes their ports to
PORTS_FILE as JSON ({"http", "tcp", "hang"}) once all are listening:

- http: answers every request `200 OK` and closes;
- tcp:  accepts and closes at once (a TCP connect check);
- hang: accepts and never answers; the connection is held until the client
        gives up and closes it.

Prints how many connections each target saw to stdout as JSON on SIGTERM.
"""
import asyncio
import json
import os
import signal
import sys

COUNTS = {"http": 0, "tcp": 0, "hang": 0, "hang_open_max": 0}
OPEN_HANGING = 0

RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"


async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    COUNTS["http"] += 1
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        writer.write(RESPONSE)
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def tcp(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    COUNTS["tcp"] += 1
    writer.close()


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global OPEN_HANGING
    COUNTS["hang"] += 1
    OPEN_HANGING += 1
    COUNTS["hang_open_max"] = max(COUNTS["hang_open_max"], OPEN_HANGING)
    try:
        # Read (and ignore) the request until the client closes.
        while await reader.read(4096):
            pass
    except ConnectionError:
        pass
    finally:
        OPEN_HANGING -= 1
        writer.close()


async def main() -> None:
    servers = {}
    for name, handler in (("http", http), ("tcp", tcp), ("hang", hang)):
        servers[name] = await asyncio.start_server(handler, "127.0.0.1", 0, backlog=1024)
    ports = {name: s.sockets[0].getsockname()[1] for name, s in servers.items()}
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump(ports, f)
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    print(json.dumps(COUNTS), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
