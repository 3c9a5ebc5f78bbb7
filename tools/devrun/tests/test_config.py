"""platform.toml parsing and the database URL rules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from vc_devrun.config import (
    ConfigError,
    find_config,
    libpq_url,
    load_config,
    parse_config,
    redact,
    service_database_url,
    with_database,
)
from vc_devrun.runner import build_env, bytecode_dir

REPO = Path(__file__).resolve().parents[3]

SAMPLE = """
[gateway]
app = "gateway.app:create_app"
port = 8000

[services.identity]
app = "identity.app:create_app"
port = 8101
database = true
routes = ["/api/v1/auth/**", "/.well-known/jwks.json"]

[services.focus-timer]
app = "focus.app:create_app"
port = 8104
command = ["{python}", "-m", "hypercorn", "{app}", "--bind", "{host}:{port}"]
ready_path = "/ready"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "platform.toml"
    path.write_text(text)
    return path


def test_parses_gateway_and_services(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SAMPLE), env={})

    assert config.gateway is not None
    assert (config.gateway.app, config.gateway.port) == ("gateway.app:create_app", 8000)
    assert config.gateway.ready_path == "/health"
    assert [s.name for s in config.services] == ["identity", "focus-timer"]
    identity = config.services[0]
    assert identity.database is True
    assert identity.routes == ("/api/v1/auth/**", "/.well-known/jwks.json")
    assert identity.ready_path == "/readyz"
    assert identity.url == "http://127.0.0.1:8101"
    assert [s.name for s in config.database_services] == ["identity"]
    assert config.service_dir(identity) == tmp_path / "services" / "identity"
    assert config.services[1].database is False
    assert config.services[1].env_prefix == "FOCUS_TIMER"


def test_default_command_is_uvicorn_factory(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SAMPLE), env={})

    argv = config.services[0].argv("/py")

    assert argv == [
        "/py",
        "-m",
        "uvicorn",
        "--factory",
        "identity.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        "8101",
        "--no-access-log",
        "--ws-max-size",
        "1048576",
    ]


def test_gateway_starts_with_the_launcher_that_serves_aiohttp_or_asgi(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SAMPLE), env={})
    assert config.gateway is not None

    argv = config.gateway.argv("/py")

    assert argv[:4] == ["/py", "-m", "vc_devrun.serve", "gateway.app:create_app"]
    assert argv[4:] == ["--host", "127.0.0.1", "--port", "8000", "--no-access-log"]


def test_command_key_overrides_launch_with_placeholders(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SAMPLE), env={})

    argv = config.services[1].argv("/py")

    assert argv == ["/py", "-m", "hypercorn", "focus.app:create_app", "--bind", "127.0.0.1:8104"]
    assert config.services[1].ready_path == "/ready"


def test_ports_are_overridden_by_environment(tmp_path: Path) -> None:
    env = {"IDENTITY_PORT": "9101", "GATEWAY_PORT": "9000", "FOCUS_TIMER_PORT": "9104"}

    config = load_config(write(tmp_path, SAMPLE), env=env)

    assert config.gateway is not None
    assert config.gateway.port == 9000
    assert [s.port for s in config.services] == [9101, 9104]


def test_one_knob_moves_the_whole_platform(tmp_path: Path) -> None:
    """PORT_BASE (or GATEWAY_PORT alone) shifts every port, keeping each service's distance
    from the gateway's; a <NAME>_PORT still pins one."""
    path = write(tmp_path, SAMPLE)
    configured = load_config(path, env={})
    assert configured.gateway is not None
    distances = [s.port - configured.gateway.port for s in configured.services]
    for env in ({"PORT_BASE": "9000"}, {"GATEWAY_PORT": "9000"}):
        moved = load_config(path, env=env)
        assert moved.gateway is not None
        assert moved.gateway.port == 9000
        assert [s.port - 9000 for s in moved.services] == distances
    pinned = load_config(path, env={"PORT_BASE": "9000", "IDENTITY_PORT": "9999"})
    assert pinned.services[0].port == 9999
    with pytest.raises(ConfigError):
        load_config(path, env={"PORT_BASE": "65500"})


def test_a_moved_platform_keeps_its_data_apart(tmp_path: Path) -> None:
    """PORT_BASE alone runs a second platform beside the first: its own data folder (and so its
    own run lock and embedded servers), unless VC_RUN_DIR names one."""
    from vc_devrun.runner import run_dir_for

    path = write(tmp_path, SAMPLE)
    assert run_dir_for(load_config(path, env={}), {}) == tmp_path / ".run"
    env = {"PORT_BASE": "9100"}
    moved = run_dir_for(load_config(path, env=env), env)
    assert moved == tmp_path / ".run" / "platform-9100"
    env = {"PORT_BASE": "9100", "VC_RUN_DIR": str(tmp_path / "elsewhere")}
    assert run_dir_for(load_config(path, env=env), env) == tmp_path / "elsewhere"


def test_gateway_port_defaults_to_8000(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[gateway]\napp = "gw.app:make"\n'), env={})

    assert config.gateway is not None
    assert config.gateway.port == 8000
    assert config.services == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[services.a]\napp = "nocolon"\nport = 1', "module:factory"),
        ('[services.a]\napp = "m:f"', "port must be an integer"),
        ('[services.a]\napp = "m:f"\nport = 70000', "between 1 and 65535"),
        ('[services.a]\napp = "m:f"\nport = 1\ndatabase = "yes"', "database"),
        ('[services.a]\napp = "m:f"\nport = 1\nroutes = "/x"', "routes"),
        ('[services.a]\napp = "m:f"\nport = 1\ncommand = []', "command"),
        ('[services.a]\napp = "m:f"\nport = 1\n[services.b]\napp = "m:g"\nport = 1', "port 1"),
        ('[services.A]\napp = "m:f"\nport = 1', "lower case"),
        ("[services\n", "invalid TOML"),
    ],
)
def test_rejects_malformed_config(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text), env={})


def test_bad_placeholder_in_command_is_a_config_error(tmp_path: Path) -> None:
    config = parse_config(
        {"services": {"a": {"app": "m:f", "port": 1, "command": ["{nope}"]}}},
        tmp_path / "platform.toml",
        env={},
    )

    with pytest.raises(ConfigError, match="placeholder"):
        config.services[0].argv("/py")


def test_find_config_walks_up_from_cwd(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE)
    deep = tmp_path / "services" / "identity" / "src"
    deep.mkdir(parents=True)

    assert find_config(start=deep) == path
    assert find_config(path) == path.resolve()
    with pytest.raises(ConfigError, match="not found"):
        find_config(tmp_path / "missing.toml")


def test_repository_platform_toml_loads() -> None:
    config = load_config(REPO / "platform.toml", env={})

    assert config.gateway is not None
    identity = config.service("identity")
    assert identity is not None
    assert identity.database is True


# --- database URLs ------------------------------------------------------------------------------


def test_service_database_replaces_the_database_name() -> None:
    base = "postgresql://postgres@127.0.0.1:5432/postgres"

    assert service_database_url("identity", base, env={}) == (
        "postgresql://postgres@127.0.0.1:5432/identity"
    )


def test_service_database_keeps_credentials_and_query_and_drops_the_driver() -> None:
    base = "postgresql+asyncpg://app:s3cret@db.internal:6543/main?sslmode=require"

    assert service_database_url("tasks", base, env={}) == (
        "postgresql://app:s3cret@db.internal:6543/tasks?sslmode=require"
    )


def test_service_database_without_database_in_base_url() -> None:
    assert service_database_url("chat", "postgres://u@h:1", env={}) == "postgresql://u@h:1/chat"


def test_own_service_database_url_wins() -> None:
    env = {"FOCUS_TIMER_DATABASE_URL": "postgresql+asyncpg://x@elsewhere:5/focusdb"}

    url = service_database_url("focus-timer", "postgresql://p@h:1/postgres", env=env)

    assert url == "postgresql://x@elsewhere:5/focusdb"


def test_libpq_url_rejects_other_schemes() -> None:
    assert libpq_url("postgresql+psycopg://h/db") == "postgresql://h/db"
    with pytest.raises(ValueError, match="PostgreSQL"):
        libpq_url("mysql://h/db")
    with pytest.raises(ValueError, match="URL"):
        libpq_url("not a url")


def test_with_database_and_redact() -> None:
    assert with_database("postgresql://u:p@h:1/a?x=1", "b") == "postgresql://u:p@h:1/b?x=1"
    assert redact("postgresql://u:p@h:1/a") == "postgresql://u:***@h:1/a"
    assert redact("postgresql://u@h:1/a") == "postgresql://u@h:1/a"


def test_children_learn_where_everything_runs(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SAMPLE), env={"IDENTITY_PORT": "9101"})
    exports = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/postgres"}

    env = build_env(config, {"PATH": "/bin", "ENVIRONMENT": "test"}, exports)

    assert env["PATH"] == "/bin"
    assert env["DATABASE_URL"] == exports["DATABASE_URL"]
    assert env["IDENTITY_URL"] == "http://127.0.0.1:9101"
    assert env["FOCUS_TIMER_URL"] == "http://127.0.0.1:8104"
    assert env["GATEWAY_URL"] == "http://127.0.0.1:8000"
    assert env["PUBLIC_URL"] == env["GATEWAY_URL"]  # the mail links lead here
    assert env["JWKS_URL"] == "http://127.0.0.1:9101/.well-known/jwks.json"
    assert env["ENVIRONMENT"] == "test"  # an explicit choice is kept
    assert build_env(config, {}, exports)["ENVIRONMENT"] == "development"


REPLICATED = """
[gateway]
app = "gateway.app:create_app"

[services.identity]
app = "identity.app:create_app"
port = 8101

[services.chat]
app = "chat.app:create_app"
port = 8103
replicas = 2
"""


def test_replicas_default_to_one_and_are_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, REPLICATED), env={})

    identity, chat = config.services
    assert (identity.replicas, identity.label) == (1, "identity")
    assert chat.replicas == 2
    second = chat.instance(1, 9999)
    assert (second.name, second.label, second.port, second.url) == (
        "chat",
        "chat#2",
        9999,
        "http://127.0.0.1:9999",
    )
    assert chat.instance(0, chat.port).label == "chat#1"
    assert (
        load_config(write(tmp_path, REPLICATED), env={"CHAT_REPLICAS": "3"}).services[1].replicas
        == 3
    )


@pytest.mark.parametrize("value", ["0", "-1", "true", '"two"', "17"])
def test_rejects_bad_replicas(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="replicas"):
        load_config(write(tmp_path, REPLICATED.replace("replicas = 2", f"replicas = {value}")))


def test_gateway_has_no_replicas(tmp_path: Path) -> None:
    text = REPLICATED.replace(
        'create_app"\n\n[services.identity]', 'create_app"\nreplicas = 2\n\n[services.identity]', 1
    )
    with pytest.raises(ConfigError, match="replicas"):
        load_config(write(tmp_path, text), env={})


def test_replicas_share_one_comma_separated_url(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, REPLICATED), env={})
    identity, chat = config.services
    entries = [identity, chat.instance(0, 8103), chat.instance(1, 9001)]

    env = build_env(config, {}, {}, entries)

    assert env["CHAT_URL"] == "http://127.0.0.1:8103,http://127.0.0.1:9001"
    assert env["IDENTITY_URL"] == "http://127.0.0.1:8101"  # one replica: one URL, no comma
    assert build_env(config, {}, {})["CHAT_URL"] == "http://127.0.0.1:8103"


def test_platform_gives_each_replica_its_own_port(tmp_path: Path) -> None:
    from vc_devrun.procs import Output
    from vc_devrun.runner import Platform

    config = load_config(write(tmp_path, REPLICATED), env={})
    platform = Platform(config=config, output=Output(color=False), env={})

    instances = platform.instances(config.services)

    assert [e.label for e in instances] == ["identity", "chat#1", "chat#2"]
    ports = [e.port for e in instances]
    assert ports[:2] == [8101, 8103]
    assert ports[2] not in (8000, 8101, 8103)


def test_children_keep_their_bytecode_under_run_when_the_env_forbids_pycache(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, SAMPLE), env={})
    cache = bytecode_dir(config)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "somemod.py").write_text("VALUE = 1\n")
    base = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tmp_path / "lib")}
    base.pop("PYTHONPYCACHEPREFIX", None)

    env = build_env(config, base, {})
    subprocess.run([sys.executable, "-c", "import somemod"], env=env, check=True)

    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(cache)
    assert list(cache.rglob(f"{tmp_path.name}/lib/somemod.*.pyc")), "the child kept nothing"
    assert not (tmp_path / "lib" / "__pycache__").exists()  # nothing beside the sources
    # a prefix the user chose wins; without PYTHONDONTWRITEBYTECODE nothing changes
    mine = {**base, "PYTHONPYCACHEPREFIX": "/elsewhere"}
    assert build_env(config, mine, {})["PYTHONPYCACHEPREFIX"] == "/elsewhere"
    plain = {k: v for k, v in base.items() if k != "PYTHONDONTWRITEBYTECODE"}
    assert "PYTHONPYCACHEPREFIX" not in build_env(config, plain, {})
