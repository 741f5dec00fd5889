"""The raw baselines of ``scripts/benchmark.py``: the least code that does the same job.

``tap``: page through list endpoints with ``requests`` and stdlib ``json`` (same ``limit``,
``offset`` and ``sort`` as tap-planhat, stopping at the first short page) and write Singer
SCHEMA and RECORD lines to stdout. ``target``: read Singer lines from stdin with stdlib
``json`` and send the records as bulk ``PUT`` arrays of 5,000. No typing, no validation, no
retries, no state: this is the floor the plugins are measured against, not a tool.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import requests

BULK_ITEMS = 5000


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return session


def raw_tap(url: str, token: str, models: list[str], schema_file: Path | None) -> None:
    """Write every record of ``models`` (``stream:path:limit:sort``) as Singer lines."""
    session = _session(token)
    schemas = json.loads(schema_file.read_text()) if schema_file else {}
    write = sys.stdout.write
    counts: dict[str, int] = {}
    for spec in models:
        stream, path, limit_text, sort = spec.split(":")
        limit = int(limit_text)
        schema = schemas.get(stream, {"type": "object"})
        write(
            json.dumps(
                {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["_id"]}
            )
            + "\n"
        )
        offset = 0
        counts[stream] = 0
        while True:
            params: dict[str, str | int] = {"limit": limit, "offset": offset, "sort": sort}
            response = session.get(url + path, params=params)
            response.raise_for_status()
            page = json.loads(response.content)
            extracted = dt.datetime.now(dt.UTC).isoformat()
            for record in page:
                message = {
                    "type": "RECORD",
                    "stream": stream,
                    "record": record,
                    "time_extracted": extracted,
                }
                write(json.dumps(message, separators=(",", ":")) + "\n")
            counts[stream] += len(page)
            if len(page) < limit:
                break
            offset += len(page)
    write(json.dumps({"type": "STATE", "value": {}}) + "\n")
    sys.stdout.flush()
    sys.stderr.write(json.dumps({"records": counts}) + "\n")


def raw_target(url: str, token: str, path: str) -> None:
    """Send every RECORD read from stdin as bulk PUTs of 5,000; echo the last STATE."""
    session = _session(token)
    batch: list[object] = []
    state = None
    tally = {"created": 0, "updated": 0, "nonupdates": 0}

    def flush() -> None:
        response = session.put(url + path, data=json.dumps(batch).encode())
        response.raise_for_status()
        body = json.loads(response.content)
        for name in tally:
            tally[name] += body.get(name, 0)
        batch.clear()

    for line in sys.stdin.buffer:
        message = json.loads(line)
        kind = message["type"]
        if kind == "RECORD":
            batch.append(message["record"])
            if len(batch) >= BULK_ITEMS:
                flush()
        elif kind == "STATE":
            state = message["value"]
    if batch:
        flush()
    sys.stdout.write(json.dumps({"type": "STATE", "value": state}) + "\n")
    sys.stderr.write(json.dumps(tally) + "\n")


def main() -> None:
    """Command line: ``tap URL TOKEN MODEL...`` or ``target URL TOKEN PATH``."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    tap = sub.add_parser("tap")
    tap.add_argument("url")
    tap.add_argument("token")
    tap.add_argument("models", nargs="+", metavar="STREAM:PATH:LIMIT:SORT")
    tap.add_argument("--schemas", type=Path, help="JSON {stream: schema} for SCHEMA lines")
    target = sub.add_parser("target")
    target.add_argument("url")
    target.add_argument("token")
    target.add_argument("path")
    args = parser.parse_args()
    if args.command == "tap":
        raw_tap(args.url, args.token, args.models, args.schemas)
    else:
        raw_target(args.url, args.token, args.path)


if __name__ == "__main__":
    main()
