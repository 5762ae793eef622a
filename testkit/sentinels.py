"""A Redis primary, a replica and three sentinels on loopback: Debian's redis-server and
redis-sentinel, each a process of the test's own, killed by its pid."""

import os
import signal
import time
from pathlib import Path

import redis

from devtools.embedded_redis import _dying_with_parent
from testkit.missing import missing
from testkit.processes import Process, private_port
from testkit.waiting import wait_until

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_SENTINEL = "/usr/bin/redis-sentinel"
MASTER = "microblog"
# The figures docs/operations.md quotes: a primary is declared down after 1 s without an answer.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 10_000


def require_redis_sentinel():
    for binary, package in ((REDIS_SERVER, "redis-server"), (REDIS_SENTINEL, "redis-sentinel")):
        if not os.path.exists(binary):
            missing(f"{binary} is not installed (apt-get install {package})")


def _ping(port, timeout=0.2):
    client = redis.Redis(port=port, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return client.ping()
    except redis.RedisError:
        return False
    finally:
        client.close()


class RedisNode:
    """A redis-server without persistence, the replica of ``primary_port`` if given."""

    def __init__(self, directory, port, primary_port=None):
        self.directory, self.port, self.primary_port = directory, port, primary_port
        self.process = None

    def start(self):
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.directory), "--daemonize", "no"]
        if self.primary_port:
            args += ["--replicaof", "127.0.0.1", str(self.primary_port)]
        log = Path(self.directory) / f"redis-{self.port}.log"
        self.process = Process(_dying_with_parent(args), dict(os.environ), log)
        wait_until(lambda: _ping(self.port) or not self.process.alive(), 10, 0.02)
        assert self.process.alive(), self.process.output()
        return self

    def client(self):
        return redis.Redis(port=self.port, socket_timeout=1)

    def info(self):
        return self.client().info("replication")

    def kill(self):
        self.process.kill(signal.SIGKILL)
        self.process.stop()


class SentinelGroup:
    """``primary`` (a RedisNode, the first one), ``replica``, and ``sentinels`` watching them
    with a quorum of 2. ``env()``: the site's configuration to reach them."""

    def __init__(self, directory):
        self.directory = Path(directory)
        ports = set()
        while len(ports) < 5:
            ports.add(private_port())
        primary, replica, *sentinels = sorted(ports)
        self.nodes = {primary: RedisNode(directory, primary)}
        self.nodes[replica] = RedisNode(directory, replica, primary_port=primary)
        self.sentinel_ports = sentinels
        self.sentinels = []

    @property
    def primary(self):
        """The node the sentinels call the primary."""
        return self.nodes[self.primary_port()]

    @property
    def replica(self):
        """The first node that is not the primary."""
        primary = self.primary
        return next(node for node in self.nodes.values() if node is not primary)

    def start(self):
        first, second = self.nodes
        self.nodes[first].start()
        self.nodes[second].start()
        for port in self.sentinel_ports:
            conf = self.directory / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {first} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
            )
            log = self.directory / f"sentinel-{port}.log"
            self.sentinels.append(
                Process(_dying_with_parent([REDIS_SENTINEL, str(conf)]), dict(os.environ), log)
            )
        wait_until(self._settled, 60, 0.1)
        return self

    def _sentinel(self, port):
        return redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5)

    def _settled(self):
        """Every sentinel knows the primary, its replica in sync, and the two other sentinels."""
        try:
            for port in self.sentinel_ports:
                state = self._sentinel(port).sentinel_master(MASTER)
                if state["num-slaves"] < 1 or state["num-other-sentinels"] < 2:
                    return False
            replica = next(node for node in self.nodes.values() if node.primary_port)
            return replica.info().get("master_link_status") == "up"
        except redis.RedisError:
            return False

    def primary_port(self):
        """The primary's port according to the first sentinel that answers."""
        for port in self.sentinel_ports:
            try:
                return int(self._sentinel(port).sentinel_get_master_addr_by_name(MASTER)[1])
            except (redis.RedisError, TypeError):
                continue
        raise AssertionError("no sentinel answers")

    def promoted_after(self, old_port, timeout):
        """Seconds until a majority of sentinels name another primary than ``old_port``."""
        start = time.monotonic()

        def promoted():
            moved = 0
            for port in self.sentinel_ports:
                try:
                    address = self._sentinel(port).sentinel_get_master_addr_by_name(MASTER)
                except redis.RedisError:
                    continue
                moved += int(address[1]) != old_port
            return moved >= 2

        wait_until(promoted, timeout, 0.02)
        return time.monotonic() - start

    def restart(self, node):
        """Start ``node`` again, empty and as it was started first: the sentinels turn a
        returning old primary into a replica of the new one."""
        return node.start()

    def env(self):
        sentinels = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return {"REDIS_SENTINELS": sentinels, "REDIS_SENTINEL_MASTER": MASTER}

    def stop(self):
        for process in self.sentinels:
            process.stop()
        for node in self.nodes.values():
            if node.process:
                node.process.stop()
