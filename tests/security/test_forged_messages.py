"""Item 1 (H): forged task messages never make a worker read or move a file outside the spool.

Two barriers, each tested: the broker refuses a client without the password
(an unauthenticated local user), and a worker validates every message item by
its exact form before anything touches the disk (an attacker who stole the
password). A root-only canary sits next to the inbox; every forged message
aims at it, directly or through a link the attacker planted.
"""

from __future__ import annotations

import os
import pickle
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import redis

from tests.security.attack import (
    SYSTEM_PYTHON,
    Canary,
    article,
    as_nobody,
    open_stack,
    settings_of,
    sh_as_nobody,
    shared_root,
)
from tests.security.conftest import NewServers
from tests.support import Stack, wait_for
from worker.broker.app import create
from worker.constants import QUEUE, TASK_BATCH
from worker.embedded import EmbeddedValkey

VALID_ID = "0123456789abcdef-01234567"
DROPPED = "dropped, never read"


@pytest.fixture(scope="module")
def world(new_servers: NewServers) -> Iterator[tuple[Stack, Canary]]:
    with shared_root("forged") as root:
        database_url, broker_url = new_servers()
        stack = open_stack(root, database_url, broker_url)
        canary = Canary.plant(root)
        stack.start()
        try:
            yield stack, canary
        finally:
            stack.stop()


def _resp(*words: str) -> bytes:
    out = f"*{len(words)}\r\n".encode()
    for word in words:
        data = word.encode()
        out += f"${len(data)}\r\n".encode() + data + b"\r\n"
    return out


def test_unauthenticated_client_cannot_push_to_the_broker(
    world: tuple[Stack, Canary], valkey: EmbeddedValkey
) -> None:
    """Item 1(a): the embedded Valkey refuses a local user without the password
    (no push, no read, no AUTH with a guess, no CONFIG, no HELLO-authenticated session)."""
    stack, _canary = world
    assert valkey.port is not None
    commands = [
        _resp("LPUSH", QUEUE, "forged"),
        _resp("RPUSH", QUEUE, "forged"),
        _resp("LRANGE", QUEUE, "0", "-1"),
        _resp("CONFIG", "GET", "requirepass"),
        _resp("AUTH", "wrong-password"),
        _resp("AUTH", "default", ""),
        _resp("HELLO", "3"),
        _resp("SELECT", "2"),
        _resp("KEYS", "*"),
    ]
    script = textwrap.dedent(
        f"""
        import socket, sys
        replies = []
        for command in {commands!r}:
            s = socket.create_connection(("127.0.0.1", {valkey.port}), timeout=5)
            s.sendall(command)
            replies.append(s.recv(4096).decode(errors="replace").split("\\r\\n")[0])
            s.close()
        print("\\n".join(replies))
        """
    )
    done = as_nobody([SYSTEM_PYTHON, "-c", script])
    assert done.returncode == 0, done.stderr
    replies = done.stdout.splitlines()
    assert len(replies) == len(commands)
    for command, reply in zip(commands, replies, strict=True):
        assert reply.startswith(("-NOAUTH", "-WRONGPASS", "-ERR")), (command, reply)
        assert "forged" not in reply
    # Nothing got in: with the password, the queue holds no "forged" item.
    client = redis.Redis.from_url(stack.broker_url)
    assert b"forged" not in client.lrange(QUEUE, 0, -1)
    assert not client.exists("forged")


def test_the_broker_password_is_on_no_command_line(world: tuple[Stack, Canary]) -> None:
    """Item 1(a): a local user cannot steal the password from `ps` (every process's
    command line), nor from the environment of our processes (/proc/<pid>/environ)."""
    stack, _canary = world
    password = unquote(urlsplit(stack.broker_url).password or "")
    assert len(password) >= 20
    script = textwrap.dedent(
        """
        import os, sys
        secret = sys.stdin.readline().strip().encode()  # not on our own command line
        found, environ_read = [], []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if secret in f.read():
                        found.append(pid)
            except OSError:
                pass
            for target in sys.argv[1:]:
                if pid == target:
                    try:
                        with open(f"/proc/{pid}/environ", "rb") as f:
                            environ_read.append(len(f.read()))
                    except OSError:
                        pass
        print(found, environ_read)
        """
    )
    pids = [str(p.pid) for p in stack.processes.values()]
    done = as_nobody([SYSTEM_PYTHON, "-c", script, *pids], input=password + "\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] []", done.stdout


def forged_items(canary: Canary, spool: Path, inbox: Path) -> list[object]:
    """Items no watcher of ours writes: each must be dropped before the disk is touched."""
    from_spool = os.path.relpath(canary.path, spool)  # ../../../secret/canary.txt
    from_inbox = os.path.relpath(canary.path, inbox)
    return [
        # claim ids that climb, carry a slash or are not of our exact form
        {"claim_id": "../../etc", "name": "passwd"},
        {"claim_id": "../../" + canary.folder.name, "name": canary.path.name},
        {"claim_id": f"{VALID_ID}/../../..", "name": from_spool},
        {"claim_id": f"{VALID_ID}/x", "name": "y.txt"},
        {"claim_id": VALID_ID + "\n", "name": "y.txt"},
        {"claim_id": VALID_ID.upper(), "name": "y.txt"},
        {"claim_id": VALID_ID + "0", "name": "y.txt"},
        {"claim_id": 1234, "name": "y.txt"},
        {"claim_id": None, "name": "y.txt"},
        {"name": "y.txt"},
        # names that are absolute, climb, hide or are not text
        {"claim_id": VALID_ID, "name": "/etc/shadow"},
        {"claim_id": VALID_ID, "name": str(canary.path)},
        {"claim_id": VALID_ID, "name": "//" + str(canary.path)},
        {"claim_id": VALID_ID, "name": from_spool},
        {"claim_id": VALID_ID, "name": from_inbox},
        {"claim_id": VALID_ID, "name": "a/../../" + from_inbox},
        {"claim_id": VALID_ID, "name": ".."},
        {"claim_id": VALID_ID, "name": "."},
        {"claim_id": VALID_ID, "name": "./x.txt"},
        {"claim_id": VALID_ID, "name": "a//b.txt"},
        {"claim_id": VALID_ID, "name": "a/"},
        {"claim_id": VALID_ID, "name": ".ingest/spool/x.txt"},
        {"claim_id": VALID_ID, "name": "x\x00/../../etc/shadow"},
        {"claim_id": VALID_ID, "name": ""},
        {"claim_id": VALID_ID, "name": 7},
        {"claim_id": VALID_ID, "name": None},
        {"claim_id": VALID_ID, "name": ["a", "b"]},
        {"claim_id": VALID_ID, "name": {"x": 1}},
        # huge names
        {"claim_id": VALID_ID, "name": "x" * 5000},
        {"claim_id": VALID_ID, "name": "a/" * 3000 + "b"},
        {"claim_id": VALID_ID, "name": "../" * 2000 + "etc/shadow"},
        # identities that are not (inode, size, mtime)
        {"claim_id": VALID_ID, "name": "y.txt", "identity": "x"},
        {"claim_id": VALID_ID, "name": "y.txt", "identity": [1, 2]},
        {"claim_id": VALID_ID, "name": "y.txt", "identity": [True, 1, 2]},
        {"claim_id": VALID_ID, "name": "y.txt", "identity": [1.5, 1, 2]},
        # object-store ETags that are not of their exact form
        {"claim_id": VALID_ID, "name": "y.txt", "etag": "../../etc/shadow"},
        {"claim_id": VALID_ID, "name": "y.txt", "etag": "0" * 33},
        {"claim_id": VALID_ID, "name": "y.txt", "etag": 5},
        # not objects at all
        "../../etc/shadow",
        str(canary.path),
        42,
        None,
        [VALID_ID, "y.txt"],
    ]


def test_forged_messages_are_dropped_and_never_touch_the_disk(
    world: tuple[Stack, Canary],
) -> None:
    """Item 1(b): messages pushed WITH the password (Celery's wire format, queue `ingest`)
    with climbing, absolute, hidden, slashed, non-text, non-object and huge fields: the
    worker logs each item as dropped, never read; the canary keeps its content, mode,
    location, inode and mtime; no document holds its text; the worker keeps working."""
    stack, canary = world
    items = forged_items(canary, stack.work / "spool", stack.inbox)
    app = create(settings_of(stack))
    before = stack.log("worker").count(DROPPED)
    app.send_task(TASK_BATCH, args=[items])  # one message, every item
    for item in items[:10]:
        app.send_task(TASK_BATCH, args=[[item]])  # and some alone
    # Payloads that are not a list of claims.
    for payload in ("../../etc/shadow", {"claim_id": VALID_ID, "name": "y.txt"}, None, 5):
        app.send_task(TASK_BATCH, args=[payload])
    expected = before + len(items) + 10
    wait_for(
        lambda: stack.log("worker").count(DROPPED) >= expected,
        60,
        what=f"{expected} '{DROPPED}' lines",
    )
    wait_for(
        lambda: stack.log("worker").count("without a list of claims was dropped") >= 3,
        40,
        what="the non-list payloads dropped",
    )
    # The worker still works: a real file dropped now is stored.
    stack.drop("after-forgery.txt", article("after forgery"))
    rows = stack.wait_finished(1, timeout=60)
    assert [(r["name"], r["status"]) for r in rows] == [("after-forgery.txt", "stored")]
    canary.assert_untouched(stack.database_url)
    assert len(stack.files()) == 1, "a forged item reached the ledger"
    assert stack.processes["worker"].poll() is None


def test_well_formed_claims_through_a_planted_link_read_nothing(
    world: tuple[Stack, Canary],
) -> None:
    """Item 1(b): claims of the exact form (the attacker knows it) whose names point
    through a symbolic link the attacker planted in the inbox (the spool's ancestor,
    the one folder it can write) to the canary's folder, in the spool's flat and
    long-name forms: nothing outside the spool is read; at worst the claim fails
    `file_vanished` (there is no such spool entry), the canary is untouched."""
    stack, canary = world
    stack.stop_process("watcher")  # it would claim (and reject) the link itself
    sh_as_nobody(f"ln -s {canary.folder} {stack.inbox}/trap")
    app = create(settings_of(stack))
    names = [
        f"trap/{canary.path.name}",
        "trap/" + "x" * 300,  # too long for one component: spool/<claim id>/trap/...
        f"trap/{'y' * 300}/{canary.path.name}",
        canary.path.name,
    ]
    ids = [f"{0x1000000000000000 + i:016x}-{i:08x}" for i in range(len(names))]
    app.send_task(
        TASK_BATCH, args=[[{"claim_id": c, "name": n} for c, n in zip(ids, names, strict=True)]]
    )
    rows = wait_for(
        lambda: r if len(r := [x for x in stack.finished() if x["claim_id"] in ids]) == 4 else None,
        60,
        what="the four forged claims finished",
    )
    assert {(r["status"], r["reason"]) for r in rows} == {("failed", "file_vanished")}
    assert all(r["sha256"] is None and r["document_id"] is None for r in rows)
    canary.assert_untouched(stack.database_url)
    assert (stack.inbox / "trap").is_symlink(), "the planted link itself was moved"
    stack.start_process("watcher", "watch")
    (link,) = stack.wait_finished(6, timeout=60)[-1:]
    assert (link["name"], link["status"], link["reason"]) == ("trap", "rejected", "symlink")
    canary.assert_untouched(stack.database_url)


def test_a_pickled_message_is_never_deserialised(world: tuple[Stack, Canary]) -> None:
    """Item 1(b), the serializer variant: a message with the password but in pickle
    (which would run code as root when loaded) is refused by the worker: nothing it
    would have done happens."""
    stack, canary = world
    marker = canary.folder.parent / "pickle-ran"

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.mkdir, (str(marker),))

    assert pickle.dumps(Boom())  # the payload builds (it runs only if loaded)
    app = create(settings_of(stack))
    app.conf.task_serializer = "pickle"
    app.conf.accept_content = ["json", "pickle"]
    app.send_task(TASK_BATCH, args=[[Boom()]], serializer="pickle")
    wait_for(
        lambda: "Refusing to deserialize untrusted content of type pickle" in stack.log("worker"),
        45,
        what="the worker to refuse the pickled message",
    )
    assert not marker.exists(), "a pickled message was loaded"
    assert stack.processes["worker"].poll() is None
    canary.assert_untouched(stack.database_url)
