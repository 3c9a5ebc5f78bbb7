"""The web build step of ``make run``: when it runs npm, when it is cached, and what it says
without Node.js."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from vc_devrun.webbuild import GET_NODE, build_web, digest


def web_tree(root: Path) -> Path:
    web = root / "web"
    (web / "src").mkdir(parents=True)
    (web / "package.json").write_text('{"name": "x", "scripts": {"build": "node build.js"}}')
    (web / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": {}}')
    (web / "src" / "main.ts").write_text("export const a = 1;\n")
    (web / "src" / "main.test.ts").write_text("test\n")
    return web


def test_the_digest_follows_the_sources_but_not_the_tests(tmp_path: Path) -> None:
    web = web_tree(tmp_path)
    first = digest(web)
    (web / "src" / "main.test.ts").write_text("another test\n")
    assert digest(web) == first
    (web / "src" / "main.ts").write_text("export const a = 2;\n")
    assert digest(web) != first
    (web / "src" / "main.ts").write_text("export const a = 1;\n")
    assert digest(web) == first
    (web / "src" / "new.ts").write_text("")
    assert digest(web) != first


def test_without_node_it_says_how_to_get_it(tmp_path: Path) -> None:
    web_tree(tmp_path)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    state, message = build_web(tmp_path, {"PATH": str(empty)})
    assert state == "no-node"
    assert message == GET_NODE
    assert "nodejs.org" in message
    assert not (tmp_path / "web" / "dist").exists()


def test_off_and_no_web_folder_skip(tmp_path: Path) -> None:
    assert build_web(tmp_path, {"PATH": os.environ["PATH"]})[0] == "skipped"
    web_tree(tmp_path)
    assert build_web(tmp_path, {"PATH": os.environ["PATH"], "VC_WEB_BUILD": "off"}) == (
        "skipped",
        "VC_WEB_BUILD=off",
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (the build runs npm)")
def test_builds_once_then_cached_until_a_source_changes(tmp_path: Path) -> None:
    web = web_tree(tmp_path)
    (web / "build.js").write_text(
        "const fs = require('fs'); fs.mkdirSync('dist', {recursive: true});"
        "const n = fs.existsSync('count') ? +fs.readFileSync('count') + 1 : 1;"
        "fs.writeFileSync('count', String(n)); fs.writeFileSync('dist/index.html', 'v' + n);"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    assert build_web(tmp_path, env)[0] == "built"
    assert (web / "node_modules" / ".vc-lock-stamp").is_file()  # npm ci ran
    assert build_web(tmp_path, env) == ("cached", "web/dist is up to date")
    assert (web / "dist" / "index.html").read_text() == "v1"
    (web / "src" / "main.ts").write_text("export const a = 3;\n")
    assert build_web(tmp_path, env)[0] == "built"
    assert (web / "dist" / "index.html").read_text() == "v2"
    (web / "package.json").write_text('{"name": "x", "scripts": {"build": "exit 3"}}')
    state, message = build_web(tmp_path, env)
    assert state == "failed"
    assert message.startswith("npm run build failed")
