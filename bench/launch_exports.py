"""The burst's launcher for websocket_scale.py: each export owner presses "Export your posts"
(POST /exports/ over HTTP, as a browser does), from a process of its own, so the load
generator's event loop does not wait on the launches.

    python bench/launch_exports.py BASE_URL < sessions.json

Fetches each owner's CSRF token, prints "ready", waits for a line on stdin, then posts the 50
exports one after the other and prints one JSON object: the response codes.
"""

import json
import sys

import requests

base_url = sys.argv[1]
sessions = json.loads(sys.stdin.readline())
owners = []
for session_id in sessions:
    owner = requests.Session()
    owner.cookies.set("sessionid", session_id)
    owner.get(f"{base_url}/exports/", timeout=60).raise_for_status()
    owners.append(owner)
print("ready", flush=True)
sys.stdin.readline()
codes = [
    owner.post(
        f"{base_url}/exports/",
        {"next": "/exports/"},
        headers={"X-CSRFToken": owner.cookies["csrftoken"], "Origin": base_url},
        allow_redirects=False,
        timeout=60,
    ).status_code
    for owner in owners
]
print(json.dumps({"codes": codes}), flush=True)
