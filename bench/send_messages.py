"""The message burst's sender for websocket_scale.py: one user sends private messages to the
export owners in turn, over HTTP (POST /messages/send/<name>/, as the form does), from a
process of its own, so the load generator's event loop does not wait on the sends.

    python bench/send_messages.py BASE_URL COUNT < {"session": KEY, "recipients": [NAMES]}

Fetches a CSRF token, prints "ready", waits for a line on stdin, then sends COUNT messages one
after the other and prints one JSON object: for each message, its recipient's index and the
time (``time.time()``) just before its POST; and the response codes.
"""

import json
import sys
import time

import requests

base_url, count = sys.argv[1], int(sys.argv[2])
given = json.loads(sys.stdin.readline())
recipients = given["recipients"]
sender = requests.Session()
sender.cookies.set("sessionid", given["session"])
sender.get(f"{base_url}/messages/send/{recipients[0]}/", timeout=60).raise_for_status()
headers = {"X-CSRFToken": sender.cookies["csrftoken"], "Origin": base_url}
print("ready", flush=True)
sys.stdin.readline()
sent, codes = [], []
for number in range(count):
    to = number % len(recipients)
    sent.append((to, time.time()))
    codes.append(
        sender.post(
            f"{base_url}/messages/send/{recipients[to]}/",
            {"body": f"Message {number}"},
            headers=headers,
            allow_redirects=False,
            timeout=60,
        ).status_code
    )
print(json.dumps({"sent": sent, "codes": codes}), flush=True)
