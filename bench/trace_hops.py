"""Split each state's latency in a traced burst into its hops (the runs' README says how the
traces were taken; the tracing lines were temporary).

    python bench/trace_hops.py RUN.json PUBLISH.log INBOX.log [DAPHNE.log]

RUN.json is websocket_scale.py's output with every delivery kept (``arrivals``); PUBLISH.log
and INBOX.log hold, per state, when its time was taken and its publish started and ended, and
when daphne's inbox received it; DAPHNE.log, where it was kept, when daphne finished sending it
to its first tab (``sent`` lines), which splits the hop from the inbox to the first tab.
Prints the 10 slowest states and each hop's percentiles, over all states and per status.
"""

import json
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

HOPS = ("total", "time→publish", "publish", "publish→inbox", "inbox→first tab", "first→last tab")
SPLIT = ("inbox→sent", "sent→first tab")


def main(run_path, publish_path, inbox_path, daphne_path=None):
    published, received, sent = {}, {}, {}
    for line in Path(publish_path).read_text().splitlines():
        _, task, status, updated_at, start, end = line.split()
        stamp = datetime.fromisoformat(updated_at).timestamp()
        published[(task[:6], status)] = (stamp, float(start), float(end))
    for line in Path(inbox_path).read_text().splitlines():
        if line.startswith("in "):
            _, task, status, at = line.split()
            received[(task[:6], status)] = float(at)
    deliveries = defaultdict(list)
    if daphne_path:
        for line in Path(daphne_path).read_text().splitlines():
            if line.startswith("sent "):
                _, task, status, at = line.split()
                sent[(task[:6], status)] = float(at)
    run = json.loads(Path(run_path).read_text())
    for at, status, task, _latency in run["websockets"]["arrivals"]:
        deliveries[(task, status)].append(at)
    rows = []
    for key, times in deliveries.items():
        if key in published and key in received:
            stamp, start, end = published[key]
            inbox, first, last = received[key], min(times), max(times)
            hops = (last - stamp, start - stamp, end - start, inbox - end)
            hops += (first - inbox, last - first)
            if sent:
                if key not in sent:
                    continue
                hops += (sent[key] - inbox, first - sent[key])
            rows.append((key, [hop * 1000 for hop in hops]))
    rows.sort(key=lambda row: -row[1][0])
    names = HOPS + (SPLIT if sent else ())
    print("| state | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for (task, status), hops in rows[:10]:
        print(f"| {task} {status} | " + " | ".join(f"{hop:.1f}" for hop in hops) + " |")
    print()
    print("| states | hop | p50 | p90 | max |")
    print("|---|---|---|---|---|")
    groups = {"all": rows}
    for row in rows:
        groups.setdefault(row[0][1], []).append(row)
    for name, group in groups.items():
        # The hops in daphne and the load generator do not depend on who published.
        for index in range(1, len(names) if name == "all" else 4):
            values = sorted(row[1][index] for row in group)
            p50, p90 = values[len(values) // 2], values[int(len(values) * 0.9)]
            print(
                f"| {name} ({len(values)}) | {names[index]} | {p50:.1f} | {p90:.1f}"
                f" | {values[-1]:.1f} |"
            )


if __name__ == "__main__":
    main(*sys.argv[1:5])
