"""Baseline for progress_latency.py: raw Redis PUBLISH of a timestamp, COUNT times at RATE/s.

python bench/redis_baseline.py REDIS_URL CHANNEL COUNT RATE
"""

import sys
import time

import redis

url, channel, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
client = redis.Redis.from_url(url)
started = time.perf_counter()
for sequence in range(1, count + 1):
    client.publish(channel, f"{sequence} {time.time()}")
    delay = started + sequence / rate - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
client.publish(channel, "end")
