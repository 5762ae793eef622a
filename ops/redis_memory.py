"""Is Redis configured and roomy enough for RQ? (read by /healthz?deep=1 and /metrics)

RQ keeps its queues, jobs and its set of live workers in Redis and needs every write to stay:
under any ``maxmemory-policy`` but ``noeviction`` a full Redis evicts some of them (a worker's
registration went, and the worker was invisible to every check while it ran exports). Under
``noeviction`` a full Redis refuses writes instead, which the workers ride out.
"""

from dataclasses import dataclass

from redis import Redis

REQUIRED_POLICY = "noeviction"


@dataclass(frozen=True)
class RedisMemory:
    policy: str
    used_bytes: int
    max_bytes: int  # 0: no limit
    evicted_keys: int

    @property
    def full(self) -> bool:
        return self.max_bytes > 0 and self.used_bytes >= self.max_bytes

    @property
    def status(self) -> str:
        if self.policy != REQUIRED_POLICY:
            return (
                f"maxmemory-policy is {self.policy}: Redis may evict RQ's jobs and workers "
                f"(set {REQUIRED_POLICY})"
            )
        if self.full:
            return "full: maxmemory reached, writes are refused"
        return "ok"


def redis_memory(connection: Redis) -> RedisMemory:
    info = connection.info("memory")
    stats = connection.info("stats")
    return RedisMemory(
        policy=str(info.get("maxmemory_policy", "unknown")),
        used_bytes=int(info.get("used_memory", 0)),
        max_bytes=int(info.get("maxmemory", 0)),
        evicted_keys=int(stats.get("evicted_keys", 0)),
    )
