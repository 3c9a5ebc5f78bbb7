"""The web client's built files (``web/dist``, from ``npm run build``), served at ``/``.

Only paths outside ``/api`` that no route of platform.toml claims come here: a file of the build
is sent as is (``/assets/*`` are content-hashed, so cached for a year; a ``.gz`` sibling written
by the build is sent to clients that accept gzip), and any other path without a file extension
gets ``index.html`` (the client routes it: ``/board``, ``/chat/…``). The folder is looked up on
each request, so a build made after the gateway started is served at once, and a machine
without one answers 404 as before.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gateway.problems import problem

INDEX = "index.html"
# operators' paths of every process, never pages of the client: a scraper or probe that reaches the
# public gateway by mistake gets a 404, not the client's index.html with a 200
RESERVED = frozenset({"metrics", "livez", "readyz", "healthz"})
IMMUTABLE = "public, max-age=31536000, immutable"


class WebClient:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def available(self) -> bool:
        return (self.root / INDEX).is_file()

    def serve(self, method: str, segs: list[str]) -> web.StreamResponse | None:
        """The answer for a path of the client (``segs`` has no dot segments), or ``None`` when
        there is no build or the path is the API's."""
        if (segs and segs[0] in ("api", *RESERVED)) or not self.available():
            return None
        if method not in ("GET", "HEAD"):
            return problem(405, f"{method} is not allowed on the web client's pages.")
        if segs:
            path = self.root.joinpath(*segs)
            if path.is_file() and path.resolve().is_relative_to(self.root):
                cache = IMMUTABLE if segs[0] == "assets" else "no-cache"
                return web.FileResponse(path, headers={"Cache-Control": cache})
            if "." in segs[-1]:  # a file that is not there: no page instead of it
                return problem(404, f"No file /{'/'.join(segs)}.", slug="not-found")
        return web.FileResponse(self.root / INDEX, headers={"Cache-Control": "no-cache"})


def default_root(config: Path | None) -> Path:
    """``web/dist`` next to platform.toml, else next to this checkout's platform.toml."""
    base = config.parent if config is not None else Path(__file__).resolve().parents[3]
    return base / "web" / "dist"
