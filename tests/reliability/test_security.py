"""Secrets never leak; tokens never travel in clear text or to another host.

Every command of the plugins runs (at DEBUG log level, so library logs are included) with
recognisable tokens, and all its output and the dead letter file are searched for them.
"""

from __future__ import annotations

import http.server
import secrets
import socket
import threading
from typing import TYPE_CHECKING, Any

import pytest

from planhat_common.call_gate import CallGate
from planhat_common.client import PlanhatClient
from planhat_common.http import RetryPolicy, make_session
from planhat_common.sender import send
from planhat_common.settings import PlanhatConnection
from tests.reliability.helpers import (
    FAULTS_WITHIN_BUDGET,
    MAX_RETRIES,
    MIXED_LOAD_SETTINGS,
    STALL_MS,
    TAP,
    TARGET,
    mixed_load,
    run_cli,
    run_tap,
    singer_lines,
    tap_config,
    target_config,
    timeout_for,
    write_json,
)
from tests.tap.helpers import run_tap as run_streams

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from planhat_sandbox.server import SandboxServer

MARK = "LEAKCHECK"
TOKEN = f"tok_{MARK}_{secrets.token_hex(8)}"
TENANT = f"tnt_{MARK}_{secrets.token_hex(8)}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tap(sandbox: SandboxServer, tmp: Path, **extra: Any) -> str:
    return write_json(tmp / "tap.json", {**tap_config(sandbox), "api_token": TOKEN, **extra})


def _target(sandbox: SandboxServer, tmp: Path, **extra: Any) -> str:
    config = {**target_config(sandbox, tmp, **MIXED_LOAD_SETTINGS), "api_token": TOKEN}
    return write_json(tmp / "target.json", {**config, "tenant_token": TENANT, **extra})


def _load(sandbox: SandboxServer) -> str:
    messages = mixed_load(sandbox)
    # A record carrying the tokens as data, rejected (no name to create it): the dead letter
    # file must not repeat them.
    messages.insert(
        1,
        {
            "type": "RECORD",
            "stream": "companies",
            "record": {"externalId": "LEAKY", "note": f"{TOKEN} {TENANT}"},
        },
    )
    return singer_lines(messages)


#: name -> (sandbox token, sandbox tenant token, faults, argv builder, stdin builder, fails)
Command = tuple[str, str, dict[str, Any], Any, Any, bool]
OTHER = "some-other-token"
COMMANDS: dict[str, Command] = {
    "tap --about json": (
        TOKEN,
        TENANT,
        {},
        lambda s, t: [TAP, "--about", "--format=json", "--config", _tap(s, t)],
        None,
        False,
    ),
    "tap --about markdown": (
        TOKEN,
        TENANT,
        {},
        lambda s, t: [TAP, "--about", "--format=markdown", "--config", _tap(s, t)],
        None,
        False,
    ),
    "tap --discover": (
        TOKEN,
        TENANT,
        {},
        lambda s, t: [TAP, "--discover", "--config", _tap(s, t)],
        None,
        False,
    ),
    "tap --test": (
        TOKEN,
        TENANT,
        {},
        lambda s, t: [TAP, "--test", "--config", _tap(s, t)],
        None,
        False,
    ),
    "tap sync": (TOKEN, TENANT, {}, lambda s, t: [TAP, "--config", _tap(s, t)], None, False),
    "tap sync, 5xx beyond the budget": (
        TOKEN,
        TENANT,
        {"status_burst": 99},
        lambda s, t: [TAP, "--config", _tap(s, t)],
        None,
        True,
    ),
    "tap sync, resets beyond the budget": (
        TOKEN,
        TENANT,
        {"reset": 99, "reset_mode": "before"},
        lambda s, t: [TAP, "--config", _tap(s, t, typed_custom_fields=False)],
        None,
        True,
    ),
    "tap sync, wrong token": (
        OTHER,
        TENANT,
        {},
        lambda s, t: [TAP, "--config", _tap(s, t)],
        None,
        True,
    ),
    "target --about": (
        TOKEN,
        TENANT,
        {},
        lambda s, t: [TARGET, "--about", "--config", _target(s, t)],
        None,
        False,
    ),
    "target load": (
        TOKEN,
        TENANT,
        {},
        lambda s, t: [TARGET, "--config", _target(s, t, max_rejected=1)],
        _load,
        False,
    ),
    "target load, rejections over max_rejected": (
        TOKEN,
        TENANT,
        {},
        lambda s, t: [TARGET, "--config", _target(s, t)],
        _load,
        True,
    ),
    "target load, 5xx beyond the budget": (
        TOKEN,
        TENANT,
        {"status_burst": 99},
        lambda s, t: [TARGET, "--config", _target(s, t)],
        _load,
        True,
    ),
    "target load, analytics host down": (
        TOKEN,
        TENANT,
        {},
        lambda s, t: [
            TARGET,
            "--config",
            _target(s, t, max_rejected=1, analytics_url=f"http://127.0.0.1:{_free_port()}"),
        ],
        _load,
        True,
    ),
    "target load, wrong tenant token": (
        TOKEN,
        OTHER,
        {},
        lambda s, t: [TARGET, "--config", _target(s, t, max_rejected=1)],
        _load,
        True,
    ),
    "target load, wrong api token": (
        OTHER,
        TENANT,
        {},
        lambda s, t: [TARGET, "--config", _target(s, t, max_rejected=1)],
        _load,
        True,
    ),
}


@pytest.mark.parametrize("name", COMMANDS)
def test_no_command_leaks_a_token(
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token, tenant, faults, argv, stdin, fails = COMMANDS[name]
    sandbox = sandbox_factory(token=token, tenant_token=tenant, faults=faults)
    monkeypatch.setenv("LOGLEVEL", "DEBUG")

    result = run_cli(argv(sandbox, tmp_path), stdin=stdin(sandbox) if stdin else None)

    assert (result.returncode != 0) is fails, result.stderr[-2000:]
    assert result.stdout or result.stderr
    dead_letter = tmp_path / "dead_letter.jsonl"
    outputs = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "dead letter": dead_letter.read_text() if dead_letter.exists() else "",
    }
    if ("load" in name and not fails) or "max_rejected" in name:
        assert "LEAKY" in outputs["dead letter"]
    _assert_no_token(outputs)


def _assert_no_token(outputs: dict[str, str]) -> None:
    for where, text in outputs.items():
        assert MARK not in text, f"{where}: ...{text[max(0, text.find(MARK) - 300) :][:600]}"


COUNTED = ("status_burst", "rate_limit_burst", "reset", "truncate", "error_object", "stall")
#: Where the tap's counted faults start: discovery (the shared client) or a stream's second
#: page (singer-sdk's request path); each logs its retries its own way.
TAP_PLACEMENTS = {"at discovery": 0, "mid-stream": 4}
ANALYTICS = ["/dimensiondata/", "/analytics/"]
FaultRun = tuple[str, dict[str, Any], bool, tuple[str, ...]]


def _within_budget_runs() -> dict[str, FaultRun]:
    runs: dict[str, FaultRun] = {}
    for fault, config in FAULTS_WITHIN_BUDGET.items():
        if not any(config.get(k) for k in COUNTED):  # latency: nothing to retry
            runs[f"tap sync, {fault}"] = ("tap", config, False, ())
            runs[f"target load, {fault}"] = ("target", config, False, ())
            continue
        for where, after in TAP_PLACEMENTS.items():
            # The shared client's retry line, or the tap stream's (singer-sdk's backoff).
            said = ("Retrying in", "(attempt 1)") if after == 0 else ("': retrying in",)
            runs[f"tap sync, {fault}, {where}"] = ("tap", {**config, "after": after}, False, said)
        runs[f"target load, {fault}"] = ("target", config, False, ("Retrying in", "(attempt 1)"))
    return runs


#: name -> (plugin, sandbox faults, fails, what stderr must say). Every fault of the
#: reliability matrix, for the tap and the target, plus one failure beyond the retry budget
#: for each: read timeouts for the tap, 503s on the analytics pushes (whose path carries the
#: tenant token) for the target.
FAULT_RUNS: dict[str, FaultRun] = _within_budget_runs()
FAULT_RUNS["tap sync, read timeouts beyond the budget"] = (
    "tap",
    {"stall": 99, "stall_ms": STALL_MS, "stall_mode": "mid", "after": 4},
    True,
    (f"giving up after {MAX_RETRIES} attempts", "Read timed out"),
)
FAULT_RUNS["target load, analytics 503s beyond the budget"] = (
    "target",
    {"status_burst": 99, "status_code": 503, "only_paths": ANALYTICS},
    True,
    # The tenant token sits in the push path: it must show as *** (a positive control).
    (f"Giving up after {MAX_RETRIES} attempts: POST /dimensiondata/*** returned 503",),
)


@pytest.mark.parametrize("name", FAULT_RUNS)
def test_no_faulted_run_leaks_a_token(
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plugin, faults, fails, expected = FAULT_RUNS[name]
    sandbox = sandbox_factory(token=TOKEN, tenant_token=TENANT, faults=faults)
    monkeypatch.setenv("LOGLEVEL", "DEBUG")
    if plugin == "tap":
        result = run_cli([TAP, "--config", _tap(sandbox, tmp_path, **timeout_for(faults))])
    else:
        config = _target(sandbox, tmp_path, max_rejected=1, **timeout_for(faults))
        argv = [TARGET, "--config", config]
        result = run_cli(argv, stdin=_load(sandbox))

    assert (result.returncode != 0) is fails, result.stderr[-2000:]
    assert "| DEBUG " in result.stderr  # library logs are included in what is searched
    if not fails:
        assert not any(sandbox.faults()[k] for k in COUNTED), "the fault never fired"
    for fragment in expected:  # the fault's own log lines are among what is searched
        assert fragment.lower() in result.stderr.lower(), result.stderr[-2000:]
    outputs = {"stdout": result.stdout, "stderr": result.stderr}
    if plugin == "tap":
        assert fails or '"type":"RECORD"' in result.stdout.replace(" ", "")
    else:
        for what, file in (("dead letter", "dead_letter.jsonl"), ("ledger", "push_ledger.jsonl")):
            path = tmp_path / file
            outputs[what] = path.read_text() if path.exists() else ""
        assert "LEAKY" in outputs["dead letter"]
    _assert_no_token(outputs)


def test_in_process_errors_do_not_carry_the_token(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(token=OTHER)
    with pytest.raises(Exception) as raised:  # noqa: PT011 - any error; its text is the test
        run_tap({**tap_config(sandbox), "api_token": TOKEN})
    assert "401" in str(raised.value)
    assert MARK not in repr(raised.value)
    assert MARK not in str(raised.value.__cause__ or "")


REMOTE = "http://api.planhat.com"


@pytest.mark.parametrize(
    ("plugin", "setting"),
    [("tap", "api_url"), ("target", "api_url"), ("target", "analytics_url")],
)
def test_plain_http_to_a_remote_host_is_refused(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path, plugin: str, setting: str
) -> None:
    sandbox = sandbox_factory(token=TOKEN, tenant_token=TENANT)
    if plugin == "tap":
        argv = [TAP, "--config", _tap(sandbox, tmp_path, **{setting: REMOTE})]
        stdin = None
    else:
        argv = [TARGET, "--config", _target(sandbox, tmp_path, **{setting: REMOTE})]
        stdin = singer_lines(mixed_load(sandbox))

    result = run_cli(argv, stdin=stdin)

    assert result.returncode != 0
    assert f"{setting} must use https (got '{REMOTE}')" in result.stderr
    assert result.stdout.strip() == ""
    assert sandbox.requests_log() == [] or plugin == "tap"  # the target refuses at start-up
    assert MARK not in result.stdout + result.stderr


# -- redirects -------------------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Redirects ``/cross...`` to the other server (another host name) and ``/same...`` to
    itself; records the Authorization header of every other request and answers ``[]``."""

    seen: list[tuple[str, str | None]]
    other: str

    def do_GET(self) -> None:
        if self.path.startswith(("/cross", "/companies")):
            self._redirect(f"{self.other}/landing{self.path}")
        elif self.path.startswith("/same"):
            self._redirect("/landing")
        else:
            self.seen.append((self.path, self.headers.get("Authorization")))
            body = b"[]"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet."""


def _serve(other: str = "") -> tuple[http.server.ThreadingHTTPServer, list[tuple[str, str | None]]]:
    seen: list[tuple[str, str | None]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen, "other": other})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server, seen


@pytest.fixture
def hosts() -> Iterator[tuple[str, list[tuple[str, str | None]], list[tuple[str, str | None]]]]:
    """Server A on 127.0.0.1 redirecting to server B, addressed as ``localhost``."""
    b_server, b_seen = _serve()
    a_server, a_seen = _serve(f"http://localhost:{b_server.server_address[1]}")
    yield f"http://127.0.0.1:{a_server.server_address[1]}", a_seen, b_seen
    for server in (a_server, b_server):
        server.shutdown()
        server.server_close()


def test_a_redirect_to_another_host_drops_the_authorization_header(hosts: Any) -> None:
    a_url, a_seen, b_seen = hosts
    session = make_session(TOKEN, "test")
    policy = RetryPolicy(max_tries=1)

    def get(url: str) -> int:
        return send(
            session,
            "GET",
            url,
            gate=CallGate.from_settings(0),
            policy=policy,
            secrets=[TOKEN],
            timeout=5,
            decode=lambda r: r.status_code,
        )

    assert get(f"{a_url}/same") == 200
    assert get(f"{a_url}/cross") == 200
    # Positive control: a same-host redirect keeps the header, so its absence below is real.
    assert a_seen == [("/landing", f"Bearer {TOKEN}")]
    assert b_seen == [("/landing/cross", None)]

    # The shared client (the target's and the tap's discovery) and a tap stream (singer-sdk's
    # session with its authenticator) behave the same.
    client = PlanhatClient(
        PlanhatConnection({"api_token": TOKEN, "api_url": a_url, "max_retries": 1})
    )
    assert client.call("GET", f"{a_url}/cross/client").status == 200
    config = {"api_url": a_url, "api_token": TOKEN, "typed_custom_fields": False}
    run_streams({**config, "max_requests_per_minute": 0}, streams={"companies"})
    paths = [path for path, _ in b_seen]
    assert "/landing/cross/client" in paths
    assert any(p.startswith("/landing/companies") for p in paths)
    assert all(auth is None for _, auth in b_seen), b_seen
