"""Reads settings from the environment through django-environ, failing with one clear line.

A missing or malformed variable must stop start-up with a message naming it, not a
traceback: every getter turns a parse error into ``SystemExit("Configuration error: VAR ...")``.

A renamed variable is still read under its old name for one release (``formerly=``); each old
name in use is noted in ``deprecations``, which settings hand to the start-up log
(``DEPRECATED_ENVIRONMENT``: logging is not configured yet while settings are read).
"""

import sys
import warnings

REQUIRED = object()
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_bool(raw):
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected true/false, 1/0, yes/no or on/off")


def _parse_list(raw):
    return [item.strip() for item in raw.split(",") if item.strip()]


class Config:
    """Typed getters over an ``environ.Env``; ``default=REQUIRED`` makes a variable mandatory."""

    def __init__(self, env):
        self.env = env
        self.deprecations: list[str] = []

    def _get(self, name, parse, default, formerly=None):
        raw = self.env.ENVIRON.get(name)
        if formerly is not None and formerly in self.env.ENVIRON:
            if raw is None:
                raw = self.env.ENVIRON[formerly]
                self.deprecations.append(
                    f"{formerly} is deprecated and will be removed in the next release: "
                    f"set {name} instead"
                )
                name = formerly  # a malformed value is reported under the name it was set by
            else:
                self.deprecations.append(
                    f"{formerly} is ignored ({name} is set) and will be removed in the next "
                    f"release: unset it"
                )
        if raw is None:
            if default is REQUIRED:
                self.fail(name, "is required but not set")
            return default
        try:
            return parse(raw)
        except Exception as error:  # noqa: BLE001 - any parse error becomes one line
            self.fail(name, f"has a malformed value ({error})")

    @staticmethod
    def fail(name, reason):
        message = f"Configuration error: {name} {reason}"
        print(message, file=sys.stderr)
        raise SystemExit(1)

    def str(self, name, default=REQUIRED):
        return self._get(name, str, default)

    def bool(self, name, default=REQUIRED):
        return self._get(name, _parse_bool, default)

    def int(self, name, default=REQUIRED, *, formerly=None):
        return self._get(name, int, default, formerly)

    def float(self, name, default=REQUIRED):
        return self._get(name, float, default)

    def list(self, name, default=REQUIRED):
        return self._get(name, _parse_list, default)

    def addresses(self, name, default=REQUIRED):
        """A comma-separated list of host:port ([v6]:port for IPv6): (host, port) pairs."""

        def parse(raw):
            pairs = []
            for item in _parse_list(raw):
                host, colon, port = item.rpartition(":")
                host = host.removeprefix("[").removesuffix("]")
                if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
                    raise ValueError(f"expected host:port,host:port…, got {item!r}")
                pairs.append((host, int(port)))
            if not pairs:
                raise ValueError("expected host:port,host:port…")
            return pairs

        return self._get(name, parse, default)

    def url(self, name, default=REQUIRED):
        def parse(raw):
            url = self.env.url(name)
            if url.scheme not in {"redis", "rediss", "unix"} or not (url.hostname or url.path):
                raise ValueError("expected redis://host:port/db")
            return raw

        return self._get(name, parse, default)

    def db_url(self, name, default):
        def parse(raw):
            # django-environ warns about an unknown scheme (echoing the URL, password and all)
            # before returning a config without ENGINE; we refuse that below in one line.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = self.env.db_url_config(raw)
            if not parsed.get("ENGINE") or not parsed.get("NAME"):
                raise ValueError("expected e.g. postgres://user@host:5432/name or sqlite:///path")
            return parsed

        return self._get(name, parse, None) or parse(default)
