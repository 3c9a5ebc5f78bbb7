"""Look-alike usernames: compatibility forms fold into the name they imitate (and so collide
with it), mixed scripts and Latin look-alikes in another script are refused; honest names in
any one script register."""

from __future__ import annotations

import secrets

import httpx
import pytest
from identity.auth.usernames import canonical

PASSWORD = "correct horse battery"


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


async def register(client: httpx.AsyncClient, name: str) -> httpx.Response:
    email = f"u{secrets.token_hex(6)}@example.com"
    return await client.post(
        "/api/v1/auth/register", json={"username": name, "email": email, "password": PASSWORD}
    )


async def test_a_fullwidth_name_is_the_same_name(client: httpx.AsyncClient) -> None:
    name = f"dup{secrets.token_hex(3)}"
    first = await register(client, name)
    assert first.status_code == 201, first.text
    again = await register(client, fullwidth(name))
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    upper = await register(client, fullwidth(name.upper()))
    assert upper.status_code == 409
    # and signing in with the fullwidth spelling finds the account
    resp = await client.post(
        "/api/v1/auth/login", json={"username": fullwidth(name), "password": PASSWORD}
    )
    assert resp.status_code == 200, resp.text


async def test_a_fullwidth_name_is_stored_in_its_ordinary_form(client: httpx.AsyncClient) -> None:
    name = f"wide{secrets.token_hex(3)}"
    resp = await register(client, fullwidth(name))
    assert resp.status_code == 201, resp.text
    assert resp.json()["username"] == name


@pytest.mark.parametrize(
    "spoof",
    [
        "\u0430dmin",  # Cyrillic a + Latin dmin
        "p\u0430ypal",  # Cyrillic a inside
        "\u0440\u043e\u0440",  # Cyrillic "pop", every letter a Latin look-alike
        "\u03bfmega",  # Greek omicron + Latin
    ],
)
async def test_look_alikes_are_refused_with_422(client: httpx.AsyncClient, spoof: str) -> None:
    resp = await register(client, spoof + secrets.token_hex(2) if spoof.isascii() else spoof)
    assert resp.status_code == 422, resp.text
    errors = resp.json()["errors"]
    assert any(e["loc"][-1] == "username" for e in errors)


@pytest.mark.parametrize("honest", ["\u0418\u0432\u0430\u043d", "J\u00fcrgen", "\u674e\u96f7"])
async def test_names_in_one_script_register(client: httpx.AsyncClient, honest: str) -> None:
    resp = await register(client, honest + str(secrets.randbelow(10**6)))
    assert resp.status_code == 201, resp.text


def test_canonical_form() -> None:
    assert canonical("\uff44\uff55\uff50") == "dup"
    assert canonical("\ufb01le") == "file"
    with pytest.raises(ValueError, match="scripts"):
        canonical("\u0430dmin")
    with pytest.raises(ValueError, match="letters"):
        canonical("a\u2044b")
