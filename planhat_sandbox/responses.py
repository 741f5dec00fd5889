"""JSON responses: every answer the sandbox gives has a JSON body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from werkzeug.wrappers import Response

if TYPE_CHECKING:
    from collections.abc import Mapping


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(
        orjson.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def error_response(status: int, message: str) -> Response:
    """An error: ``{"error": message}``."""
    return json_response(status, {"error": message})
