"""Print a Markdown table of websocket_scale.py runs kept side by side (an A/B comparison).

python bench/compare_runs.py bench/results/one-off/2026-12-05-channel-layer/*.json
"""

import json
import sys
from pathlib import Path

print("| run | deliveries | p50 | p99 | probe p99 | finals |")
print("|---|---|---|---|---|---|")
for name in sys.argv[1:]:
    run = json.loads(Path(name).read_text())["websockets"]
    print(
        f"| `{Path(name).name}` | {run['messages']} | {run['latency_ms']['p50']:.1f} ms"
        f" | {run['latency_ms']['p99']:.1f} ms | {run['probe_process']['p99']:.1f} ms"
        f" | {run['final_states_received']}/{run['exports']} |"
    )
