"""Second tabs for websocket_scale.py: one more websocket per export owner, in a process of its
own, so the latency it sees is not inflated by the load generator's thousands of sockets.

    python bench/ws_probe.py URL ORIGIN EXPECTED_FINALS < sessions.json
Prints "ready" once connected, then one JSON object with the latencies when all finals arrived.
"""

import asyncio
import json
import sys
import time
from datetime import datetime

import websockets

url, origin, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
sessions = json.load(sys.stdin)
latencies, finals = [], {}


async def listen(socket):
    async for raw in socket:
        message = json.loads(raw)
        if message["type"] != "task":
            continue
        state = message["task"]
        latencies.append(
            (time.time() - datetime.fromisoformat(state["updated_at"]).timestamp()) * 1000
        )
        if state["status"] in ("succeeded", "failed", "cancelled"):
            finals[state["id"]] = state["status"]


async def main():
    sockets = [
        await websockets.connect(
            url,
            additional_headers={"Cookie": f"sessionid={s}", "Origin": origin},
            ping_interval=None,  # as a browser: it answers daphne's pings, sends none
        )
        for s in sessions
    ]
    readers = [asyncio.create_task(listen(socket)) for socket in sockets]
    await asyncio.sleep(0.5)  # let the snapshots pass
    latencies.clear()
    print("ready", flush=True)
    deadline = time.perf_counter() + 180
    while len(finals) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    for reader in readers:
        reader.cancel()
    for socket in sockets:
        await socket.close()


asyncio.run(main())
latencies.sort()
print(
    json.dumps(
        {
            "finals": len(finals),
            "messages": len(latencies),
            "p50": latencies[len(latencies) // 2] if latencies else None,
            "p99": latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
            if latencies
            else None,
        }
    )
)
