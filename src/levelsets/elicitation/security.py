"""HTTP hardening of the study app: body size limit, security headers, Host allowlist.

* :class:`BodyLimit` refuses request bodies over a limit with 413 (with or without
  ``Content-Length``).
* :class:`SecurityHeaders` adds a strict Content-Security-Policy (scripts, styles and images from
  this server only, ``frame-ancestors 'none'``), ``X-Frame-Options: DENY`` (no framing,
  so no clickjacking), ``nosniff``, ``no-referrer``, and ``Cache-Control: no-store`` on the admin
  pages and the JSON API (progress, exports and completion codes are never cached).
* :func:`read_confined` reads a stimulus file only when it resolves (symlinks followed) to a
  regular file inside the stimulus directory, checked on every request.
* :func:`allowed_hosts` builds the list for Starlette's ``TrustedHostMiddleware``: requests whose
  ``Host`` header is not on it get 400, which defeats DNS rebinding (a page on another site
  resolving its own name to 127.0.0.1 sends its own name as ``Host``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from fastapi.responses import JSONResponse

from levelsets.errors import LevelsetsError

CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; "
                           "frame-ancestors 'none'; form-action 'self'")
"""Pages may load scripts, styles and images from this server only (no inline scripts, no CDN) and may not be framed."""

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
"""``Host`` names accepted by default: this machine only."""

NO_STORE_PREFIXES = ("/admin", "/api/")
"""Paths answered with ``Cache-Control: no-store``."""

_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def error_response(status: int, field: str | None, message: str) -> JSONResponse:
    """A JSON error: ``{"detail": "<field>: <message>", "field": field}``."""
    detail = f"{field}: {message}" if field else message
    return JSONResponse(status_code=status, content={"detail": detail, "field": field})


def normalize_host(name: str) -> str:
    """One ``--allowed-host`` value as ``TrustedHostMiddleware`` compares it (lower case, IPv6 in brackets).

    Raises
    ------
    LevelsetsError
        When ``name`` is not a host name, ``*.domain`` pattern or IP address (a port or a scheme is refused).
    """
    raw = name.strip().lower()
    bare = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        address = None
    if address is not None:
        return f"[{address}]" if address.version == 6 else str(address)
    if not _HOSTNAME.match(raw):
        raise LevelsetsError(
            f"--allowed-host {name!r} is not a host name; give the name participants use, without scheme or port "
            "(e.g. --allowed-host study.example.org)"
        )
    return raw


def allowed_hosts(extra: Iterable[str] = ()) -> list[str]:
    """The loopback names plus ``extra`` (normalized, duplicates dropped, order kept)."""
    out: list[str] = []
    for name in (*LOOPBACK_HOSTS, *extra):
        host = normalize_host(name)
        if host not in out:
            out.append(host)
    return out


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BodyLimit:
    """ASGI middleware: refuse request bodies larger than ``limit`` bytes with 413."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_big = error_response(413, "body", f"request body larger than {self.limit} bytes")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await too_big(scope, receive, send)
            return
        received = 0
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                chunks.append(message)
                break
            received += len(message.get("body", b""))
            if received > self.limit:
                await too_big(scope, receive, send)
                return
            chunks.append(message)
            more = message.get("more_body", False)

        async def replay():
            if chunks:
                return chunks.pop(0)
            return await receive()

        await self.app(scope, replay, send)


class SecurityHeaders:
    """ASGI middleware: CSP, no framing, no MIME sniffing, no referrer; no caching of admin pages and the API."""

    HEADERS = (
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    )
    NO_STORE = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"))

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = self.HEADERS
        if scope.get("path", "").startswith(NO_STORE_PREFIXES):
            headers = (*headers, *self.NO_STORE)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


MAX_STIMULUS_BYTES = 32 * 1024 * 1024
"""Largest stimulus file served (a 2048 px PNG is well under this)."""


def read_confined(root: Path, relative: str) -> bytes | None:
    """The bytes of ``root / relative`` when it is a regular file inside ``root``, else None.

    Resolved and checked at every call, so a stimulus replaced by a symlink (or a directory
    replaced by one) pointing outside ``root`` after the server started is not served; the file
    is then opened without following a final symlink, in case it was swapped in between.
    """
    try:
        path = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_STIMULUS_BYTES:
            return None
        chunks, size = [], 0
        while size <= MAX_STIMULUS_BYTES and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks) if size <= MAX_STIMULUS_BYTES else None
    finally:
        os.close(fd)
