"""A Redis brought to its maxmemory under noeviction, for the full-Redis test and benchmark."""

from redis.exceptions import OutOfMemoryError


def fill_redis(client):
    """Write until Redis refuses, with maxmemory a little over what it held.

    Redis counts the refused command's own bytes: once it has refused a large write, small
    ones still fit. maxmemory is then lowered to half of what Redis holds, so every write,
    however small, is refused until there is room again."""
    client.config_set("maxmemory", client.info("memory")["used_memory"] + 256 * 1024)
    for i in range(10_000):
        try:
            client.set(f"filler:{i}", b"x" * 64 * 1024)
        except OutOfMemoryError:
            break
    else:
        raise AssertionError("Redis never said it was full")
    client.config_set("maxmemory", client.info("memory")["used_memory"] // 2)
