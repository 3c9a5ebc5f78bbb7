"""docs/api holds the contract clients are written against (the merged OpenAPI and the AsyncAPI of
the events and sockets); it must be what the code says. Rebuilt in a subprocess from the
services' own apps (tools/contract.py --check), so a route, schema or event changed without
`make contract` fails here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_published_contract_is_what_the_code_says() -> None:
    done = subprocess.run(
        [sys.executable, "tools/contract.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_published_documents_cover_every_route_and_event() -> None:
    openapi = json.loads((ROOT / "docs/api/openapi.json").read_text())
    asyncapi = json.loads((ROOT / "docs/api/asyncapi.json").read_text())
    assert openapi["components"]["securitySchemes"].keys() == {"bearerAuth"}
    assert "/api/v1/calendar/events" in openapi["paths"]
    assert "/api/v1/teams/{team_id}/now" in openapi["paths"]
    events = sorted(p.name for p in (ROOT / "contracts/events").glob("*.v*.json"))
    names = {m["title"] for m in asyncapi["components"]["messages"].values() if "title" in m}
    assert names == {" v".join(e.removesuffix(".json").rsplit(".v", 1)) for e in events}
    assert asyncapi["channels"]["live"]["address"] == "/api/v1/ws"
