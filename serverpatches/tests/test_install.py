"""``serverpatches.install()``: every patch on the versions it knows, none on others, none when
``SERVER_PATCHES`` is off.

Each case runs in a process of its own, which imports daphne's CLI (and with it daphne's
server and Twisted's reactor) before the site, as ``daphne microblog.asgi:application`` does,
after editing the package's tables of known versions and copied sources as the case asks.
"""

import json
import subprocess
import sys

import pytest

from testkit import processes

EVERY_PATCH = [
    "access_log",
    "backpressure",
    "closing_sockets",
    "connection_checks",
    "quiet_collections",
    "request_bodies",
    "request_limits",
    "websocket_frames",
]
# What each patch changes, as the child process reads it before and after the site's import.
CHANGES = {
    "access_log": ["cli.AccessLogGenerator"],
    "backpressure": ["backpressure._paced"],
    "closing_sockets": ["WebSocketProtocol.handle_reply"],
    "connection_checks": ["Server.timeout_checker", "Server.application_checker"],
    "quiet_collections": ["gc.get_threshold()"],
    "request_bodies": ["WebRequest.__init__"],
    "request_limits": ["WebRequest.gotLength", "Server.create_application"],
    "websocket_frames": ["WebSocketProtocol.onMessage", "WebSocketFactory.setProtocolOptions"],
}


def child():
    """In the child: apply the edits (argv[1]), import the site, print what changed."""
    import gc

    from daphne import cli, http_protocol, ws_protocol
    from daphne.server import Server

    import serverpatches
    from serverpatches import backpressure

    def state():
        return {
            "cli.AccessLogGenerator": cli.AccessLogGenerator,
            "backpressure._paced": backpressure._paced,
            "Server.timeout_checker": Server.timeout_checker,
            "Server.application_checker": Server.application_checker,
            "gc.get_threshold()": gc.get_threshold(),
            "WebRequest.__init__": http_protocol.WebRequest.__init__,
            "WebRequest.gotLength": http_protocol.WebRequest.gotLength,
            "Server.create_application": Server.create_application,
            "WebSocketProtocol.handle_reply": ws_protocol.WebSocketProtocol.handle_reply,
            "WebSocketProtocol.onMessage": ws_protocol.WebSocketProtocol.onMessage,
            "WebSocketFactory.setProtocolOptions": ws_protocol.WebSocketFactory.setProtocolOptions,
        }

    edits = json.loads(sys.argv[1])
    serverpatches.versions.KNOWN.update(edits.get("known", {}))
    for patch, copies in edits.get("copies", {}).items():
        getattr(serverpatches, patch).COPIES.update(copies)
    before = state()
    import microblog.asgi  # noqa: F401

    after = state()
    changed = sorted(name for name in before if after[name] != before[name])
    print("CHANGED " + json.dumps(changed))


def install(edits=None, **env):
    """What a process with these edits and settings patched, and what the package logged."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from serverpatches.tests.test_install import child; child()",
            json.dumps(edits or {}),
        ],
        env=processes.child_env(LOG_FORMAT="json", **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = result.stdout.splitlines()
    changed = json.loads(next(line for line in lines if line.startswith("CHANGED "))[8:])
    patched = sorted(patch for patch, names in CHANGES.items() if set(names) & set(changed))
    for patch in patched:
        assert set(CHANGES[patch]) <= set(changed), f"{patch} is half-installed: {changed}"
    logged = []
    for line in lines:
        if line.startswith("{"):
            entry = json.loads(line)
            if entry["logger"] == "serverpatches":
                logged.append((entry["level"], entry["message"]))
    return patched, logged


def test_on_the_known_versions_every_patch_is_installed_without_a_word():
    assert install() == (EVERY_PATCH, [])


@pytest.mark.parametrize(
    ("component", "refused"),
    [
        ("daphne", EVERY_PATCH),
        (
            "twisted",
            [
                "backpressure",
                "connection_checks",
                "quiet_collections",
                "request_bodies",
                "request_limits",
            ],
        ),
        ("autobahn", ["closing_sockets", "websocket_frames"]),
        ("cpython", ["quiet_collections"]),
    ],
)
def test_an_unknown_version_patches_nothing_that_needs_it_and_logs_one_line_per_refusal(
    component, refused
):
    import serverpatches.versions

    running = serverpatches.versions.found()[component]

    patched, logged = install({"known": {component: "0.0.0"}})

    assert patched == [patch for patch in EVERY_PATCH if patch not in refused]
    assert [level for level, _ in logged] == ["ERROR"] * len(refused)
    for patch, (_, message) in zip(sorted(refused), sorted(logged), strict=True):
        assert message.startswith(f"{patch} NOT installed (")
        assert message.endswith(f"written for {component} 0.0.0, this is {component} {running}")


def test_a_daphne_function_that_changed_since_it_was_copied_refuses_its_patch():
    copies = {"daphne.server:Server.application_checker": "0" * 64}

    patched, logged = install({"copies": {"connection_checks": copies}})

    assert patched == [patch for patch in EVERY_PATCH if patch != "connection_checks"]
    assert logged == [
        (
            "ERROR",
            "connection_checks NOT installed (daphne sweeps all its connections at once):"
            " Server.application_checker differs from the copy it replaces",
        )
    ]


def test_the_copies_fingerprints_are_those_of_the_installed_daphne():
    """Recorded when copied from daphne 4.2.3: the check above is not refusing by chance."""
    from serverpatches import connection_checks, request_limits, versions

    assert versions.changed_copies(connection_checks.COPIES) == []
    assert versions.changed_copies(request_limits.COPIES) == []


def test_server_patches_off_installs_nothing():
    patched, logged = install(SERVER_PATCHES="false")

    assert patched == []
    assert logged == [
        ("WARNING", "server patches are off (SERVER_PATCHES): daphne runs as released")
    ]
