"""``planhat-sandbox``: serve the sandbox until SIGTERM/SIGINT.

Prints ``PLANHAT_API_URL=…`` and ``PLANHAT_ANALYTICS_URL=…`` lines (flushed) once listening, so
scripts can read the URLs from stdout, e.g. with ``--port 0`` (a free port).
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from planhat_common.about import package_version
from planhat_common.runtime import tune_gc
from planhat_sandbox.faults import FaultConfig, parse_fault_flag

try:
    from planhat_sandbox.server import SandboxServer
except ModuleNotFoundError as missing:  # pragma: no cover - only without the extra
    raise SystemExit(
        f"planhat-sandbox needs the 'sandbox' extra ({missing.name} is not installed): "
        'pip install "planhat-singer[sandbox]"'
    ) from None

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType


def _model_count(text: str) -> tuple[str, int]:
    name, sep, count = text.partition("=")
    if not sep or not count.strip().isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not MODEL=COUNT")
    return name.strip(), int(count)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="planhat-sandbox", description="A stateful local fake of Planhat's REST API."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s v{package_version()}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--token", default=os.environ.get("PLANHAT_SANDBOX_TOKEN", "sandbox-token"))
    parser.add_argument(
        "--tenant-token", default=os.environ.get("PLANHAT_SANDBOX_TENANT", "sandbox-tenant")
    )
    parser.add_argument("--records", type=int, default=20, help="seed records per model")
    parser.add_argument(
        "--model-records",
        type=_model_count,
        action="append",
        default=[],
        metavar="MODEL=COUNT",
        help="seed count for one model, e.g. companies=100000 (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=200,
        help="requests per window, like Planhat's 200 a minute (default); 0: off",
    )
    parser.add_argument("--rate-limit-window", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fault config entry, e.g. status_burst=3 (repeatable; see faults.py)",
    )
    parser.add_argument("--load", type=Path, help="start from a /_sandbox/dump JSON file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGTERM or SIGINT."""
    parser = build_parser()
    args = parser.parse_args(argv)
    faults: dict[str, Any] = {}
    try:
        for flag in args.fault:
            key, value = parse_fault_flag(flag)
            faults[key] = value
        FaultConfig.from_mapping(faults)
    except ValueError as exc:
        parser.error(str(exc))
    server = SandboxServer(
        token=args.token,
        tenant_token=args.tenant_token,
        records=args.records,
        seed=args.seed,
        rate_limit_per_minute=args.rate_limit,
        faults=faults,
        model_records=dict(args.model_records),
        rate_limit_window_seconds=args.rate_limit_window,
        host=args.host,
        port=args.port,
    )
    if args.load:
        server.load(orjson.loads(args.load.read_bytes()))
    # The seeded store lives as long as the server: keep the cyclic collector from
    # re-scanning it after every few thousand allocations (gen-2 passes over 100,000 records
    # took up to half a second, stalling the answer to whatever request triggered them).
    gc.freeze()
    tune_gc()
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    try:
        sys.stdout.write(f"PLANHAT_API_URL={server.url}\n")
        sys.stdout.write(f"PLANHAT_ANALYTICS_URL={server.analytics_url}\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
