"""The other user of websocket_flood.py, in a process of its own and from another address
(127.0.0.2), so that the flood's load generator neither delays what it sees nor shares its
nginx rate limit.

    python bench/flood_bystander.py PROXY_URL SESSION_ID

Keeps one websocket open and records the latency of every task state it receives after the
snapshot, and the longest wait between two; meanwhile, every half second, loads a page and opens
a second websocket (a new tab), counting the answers.
Prints "ready" once connected, then, when stdin closes, one JSON object.
"""

import asyncio
import http.client
import itertools
import json
import sys
import time
from collections import Counter
from datetime import datetime

import websockets

ADDRESS = "127.0.0.2"
proxy_url, session = sys.argv[1], sys.argv[2]
ws_url = proxy_url.replace("http://", "ws://") + "/ws/tasks/"
port = int(proxy_url.rsplit(":", 1)[1])
headers = {"Cookie": f"sessionid={session}", "Origin": proxy_url}
latencies, arrivals, answers = [], [], Counter()


def connect():
    return websockets.connect(
        ws_url, additional_headers=headers, local_addr=(ADDRESS, 0), open_timeout=60
    )


async def listen(socket):
    live = False  # the snapshot's states are as old as the task; the reports after it are live
    async for raw in socket:
        message = json.loads(raw)
        live = live or message["type"] == "snapshot"
        if live and message["type"] == "task":
            produced = datetime.fromisoformat(message["task"]["updated_at"]).timestamp()
            latencies.append((time.time() - produced) * 1000)
            arrivals.append(time.monotonic())


def load_page():
    page = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(ADDRESS, 0))
    try:
        page.request("GET", "/", headers={"Cookie": headers["Cookie"]})
        return page.getresponse().status
    except OSError as error:
        return type(error).__name__
    finally:
        page.close()


async def new_tab():
    try:
        async with connect() as socket:
            json.loads(await asyncio.wait_for(socket.recv(), 60))
            return 101
    except websockets.exceptions.InvalidStatus as refused:
        return refused.response.status_code
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as error:
        return type(error).__name__


async def visits(stop):
    while not stop.is_set():
        answers[f"page {await asyncio.to_thread(load_page)}"] += 1
        answers[f"websocket {await new_tab()}"] += 1
        await asyncio.sleep(0.5)


async def main():
    socket = await connect()
    listening = asyncio.create_task(listen(socket))
    print("ready", flush=True)
    stop = asyncio.Event()
    visiting = asyncio.create_task(visits(stop))
    await asyncio.to_thread(sys.stdin.read)
    stop.set()
    await visiting
    listening_ended = listening.done()
    listening.cancel()
    await socket.close()
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]
    latencies.sort()
    print(
        json.dumps(
            {
                "states": len(latencies),
                "latency_ms_p50": round(latencies[len(latencies) // 2], 1) if latencies else None,
                "latency_ms_max": round(latencies[-1], 1) if latencies else None,
                "longest_gap_ms": round(max(gaps), 1) if gaps else None,
                "socket_closed_under_it": listening_ended,
                "answers": dict(sorted(answers.items())),
            }
        ),
        flush=True,
    )


asyncio.run(main())
