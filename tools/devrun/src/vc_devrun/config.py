"""platform.toml: the one registry of the platform, and the URL rules derived from it.

Format::

    [gateway]
    app = "gateway.app:create_app"   # ASGI app factory ("module:factory")
    port = 8000
    # command = ["{python}", "-m", "aiohttp.web", "-H", "{host}", "-P", "{port}", "{app}"]

    [services.identity]
    app = "identity.app:create_app"
    port = 8101
    database = true                  # gets its own database, named after the service
    routes = ["/api/v1/auth/**"]     # read by the gateway, ignored here
    # optional: command = [...], ready_path = "/readyz", dir = "services/identity"
    # optional: replicas = 2           # N processes of the service (default 1, see below)

Services start with ``python -m uvicorn --factory <app>``; the gateway with
``python -m vc_devrun.serve <app>``, which serves an aiohttp ``Application`` or an ASGI app.
``command`` replaces either; its items may use the placeholders ``{python}``, ``{app}``,
``{host}``, ``{port}`` and ``{name}``.

``replicas = N`` (services only; ``<NAME>_REPLICAS`` overrides it) starts N processes of the
service: the first on the configured port, the others on free ports picked at start. Each is
named ``<name>#<k>`` (k from 1) in the output; ``<NAME>_URL`` is then the comma-separated list of
every replica's base URL (a single URL when N = 1), which the gateway balances over.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

CONFIG_NAME = "platform.toml"
HOST = "127.0.0.1"
DEFAULT_GATEWAY_PORT = 8000

_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
_APP_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


#: the largest WebSocket message uvicorn takes for a service under `make run`
WS_MAX_SIZE = 1024 * 1024


class ConfigError(Exception):
    """platform.toml is missing or malformed."""


@dataclass(frozen=True)
class Entry:
    """One process of the platform: a service or the gateway."""

    name: str
    app: str
    port: int
    database: bool = False
    routes: tuple[str, ...] = ()
    command: tuple[str, ...] | None = None
    ready_path: str = "/readyz"
    directory: str | None = None
    is_gateway: bool = False
    replicas: int = 1
    # Which replica this entry is (0 for the first, or the only one); see ``instance``.
    replica: int = 0

    @property
    def label(self) -> str:
        """``chat`` for a single process, ``chat#1``, ``chat#2``... for replicas."""
        return self.name if self.replicas == 1 else f"{self.name}#{self.replica + 1}"

    def instance(self, replica: int, port: int) -> Entry:
        """The entry of one replica: the same service on its own port."""
        return replace(self, replica=replica, port=port)

    @property
    def env_prefix(self) -> str:
        return env_key(self.name)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def argv(self, python: str) -> list[str]:
        """The command that starts this entry."""
        values = {
            "python": python,
            "app": self.app,
            "host": HOST,
            "port": str(self.port),
            "name": self.name,
        }
        if self.command is None and self.is_gateway:
            # The gateway may be an aiohttp or an ASGI app: this launcher serves either.
            return [
                python,
                "-m",
                "vc_devrun.serve",
                self.app,
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--no-access-log",
            ]
        if self.command is None:
            return [
                python,
                "-m",
                "uvicorn",
                "--factory",
                self.app,
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--no-access-log",
                # uvicorn assembles a WebSocket message before the app sees it (16 MiB by
                # default); the services refuse frames far smaller (ws_max_frame_bytes)
                "--ws-max-size",
                str(WS_MAX_SIZE),
            ]
        try:
            return [part.format_map(values) for part in self.command]
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"[{self.name}] command: bad placeholder {exc}; use {{python}}, {{app}}, "
                "{host}, {port} or {name}"
            ) from exc


@dataclass(frozen=True)
class PlatformConfig:
    path: Path
    gateway: Entry | None
    services: tuple[Entry, ...] = field(default_factory=tuple)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def database_services(self) -> tuple[Entry, ...]:
        return tuple(s for s in self.services if s.database)

    def service(self, name: str) -> Entry | None:
        return next((s for s in self.services if s.name == name), None)

    def service_dir(self, entry: Entry) -> Path:
        return self.root / (entry.directory or f"services/{entry.name}")


def env_key(name: str) -> str:
    """``identity`` -> ``IDENTITY``; ``focus-timer`` -> ``FOCUS_TIMER``."""
    return name.upper().replace("-", "_")


def find_config(explicit: str | os.PathLike[str] | None = None, start: Path | None = None) -> Path:
    """``--config`` if given, else the first platform.toml up from the cwd, else up from here."""
    if explicit is not None:
        path = Path(explicit).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    starts = [start or Path.cwd(), Path(__file__).resolve().parent]
    for origin in starts:
        for directory in (origin.resolve(), *origin.resolve().parents):
            candidate = directory / CONFIG_NAME
            if candidate.is_file():
                return candidate
    raise ConfigError(f"no {CONFIG_NAME} found above {starts[0]} (pass --config)")


def load_config(path: Path, env: Mapping[str, str] | None = None) -> PlatformConfig:
    """Parse platform.toml; ports may be overridden by ``<NAME>_PORT`` / ``GATEWAY_PORT``."""
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    return parse_config(data, path, env)


def parse_config(
    data: Mapping[str, object], path: Path, env: Mapping[str, str] | None = None
) -> PlatformConfig:
    env = os.environ if env is None else env
    shift = _port_shift(data, env)
    gateway = None
    raw_gateway = data.get("gateway")
    if raw_gateway is not None:
        gateway = _parse_entry("gateway", raw_gateway, env, is_gateway=True, shift=shift)
    raw_services = data.get("services", {})
    if not isinstance(raw_services, dict):
        raise ConfigError("[services] must be a table of [services.<name>] tables")
    services = tuple(
        _parse_entry(name, table, env, is_gateway=False, shift=shift)
        for name, table in raw_services.items()
    )
    config = PlatformConfig(path=path, gateway=gateway, services=services)
    _check_ports(config)
    return config


def _port_shift(data: Mapping[str, object], env: Mapping[str, str]) -> int:
    """One knob moves the whole platform: ``PORT_BASE`` (or ``GATEWAY_PORT`` given alone) is
    where the gateway listens, and every service keeps its distance from the gateway's
    configured port (PORT_BASE=9000: gateway 9000, identity 9101, ...). ``<NAME>_PORT`` still
    pins one entry."""
    gw = data.get("gateway")
    configured = DEFAULT_GATEWAY_PORT
    if isinstance(gw, dict) and isinstance(gw.get("port"), int):
        configured = int(gw["port"])
    raw = env.get("PORT_BASE") or env.get("GATEWAY_PORT")
    return _port("PORT_BASE", raw) - configured if raw else 0


def _parse_entry(
    name: str, table: object, env: Mapping[str, str], *, is_gateway: bool, shift: int = 0
) -> Entry:
    where = "[gateway]" if is_gateway else f"[services.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    if not is_gateway and not _NAME_RE.match(name):
        raise ConfigError(f"{where}: service names are lower case letters, digits, '-' and '_'")
    app = table.get("app")
    if not isinstance(app, str) or not _APP_RE.match(app):
        raise ConfigError(f'{where} app must be "module:factory", got {app!r}')
    port = _port(where, table.get("port", DEFAULT_GATEWAY_PORT if is_gateway else None))
    override = env.get(f"{env_key(name)}_PORT")
    if override:
        port = _port(f"{env_key(name)}_PORT", override)
    elif shift:
        port = _port(f"{where} port shifted by PORT_BASE", port + shift)
    database = table.get("database", False)
    if not isinstance(database, bool) or (is_gateway and database):
        raise ConfigError(f"{where} database must be true or false (and false for the gateway)")
    routes = table.get("routes", [])
    if not isinstance(routes, list) or not all(isinstance(r, str) for r in routes):
        raise ConfigError(f"{where} routes must be a list of strings")
    command = table.get("command")
    if command is not None and (
        not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command)
    ):
        raise ConfigError(f"{where} command must be a non-empty list of strings")
    default_ready = "/health" if is_gateway else "/readyz"
    ready_path = table.get("ready_path", default_ready)
    if not isinstance(ready_path, str) or not ready_path.startswith("/"):
        raise ConfigError(f"{where} ready_path must be a path starting with '/'")
    directory = table.get("dir")
    if directory is not None and not isinstance(directory, str):
        raise ConfigError(f"{where} dir must be a string")
    replicas = _replicas(where, table.get("replicas", 1))
    override = env.get(f"{env_key(name)}_REPLICAS")
    if override and not is_gateway:
        replicas = _replicas(f"{env_key(name)}_REPLICAS", override)
    if is_gateway and replicas != 1:
        raise ConfigError(
            f"{where} replicas: the gateway runs as one process (see GATEWAY_WORKERS)"
        )
    return Entry(
        name=name,
        app=app,
        port=port,
        database=database,
        routes=tuple(routes),
        command=tuple(command) if command is not None else None,
        ready_path=ready_path,
        directory=directory,
        is_gateway=is_gateway,
        replicas=replicas,
    )


def _replicas(where: str, value: object) -> int:
    count: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str) and value.strip().isdigit():
        count = int(value)
    if count is None or not 1 <= count <= 16:
        raise ConfigError(f"{where} replicas must be an integer from 1 to 16, got {value!r}")
    return count


def _port(where: str, value: object) -> int:
    port: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        port = value
    elif isinstance(value, str) and value.strip().isdigit():
        port = int(value)
    if port is None:
        raise ConfigError(f"{where} port must be an integer, got {value!r}")
    if not 0 < port < 65536:
        raise ConfigError(f"{where} port must be between 1 and 65535, got {value!r}")
    return port


def _check_ports(config: PlatformConfig) -> None:
    seen: dict[int, str] = {}
    entries = [*config.services, *([config.gateway] if config.gateway else [])]
    for entry in entries:
        if entry.port in seen:
            raise ConfigError(f"{entry.name} and {seen[entry.port]} both use port {entry.port}")
        seen[entry.port] = entry.name


# --- database URLs ------------------------------------------------------------------------------


def libpq_url(url: str) -> str:
    """A plain libpq URL from any SQLAlchemy PostgreSQL URL (drops ``+asyncpg`` and the like)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a URL: {url!r}")
    if scheme in {"postgres", "postgresql"} or scheme.startswith(("postgresql+", "postgres+")):
        return f"postgresql://{rest}"
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def with_database(url: str, database: str) -> str:
    """``url`` with its database name replaced by ``database`` (query string kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def service_database_url(name: str, base_url: str, env: Mapping[str, str] | None = None) -> str:
    """The libpq URL of ``name``'s own database: ``<NAME>_DATABASE_URL`` if set, else the
    database of ``DATABASE_URL`` replaced by the service name (the rule of libs/common)."""
    env = os.environ if env is None else env
    own = env.get(f"{env_key(name)}_DATABASE_URL")
    if own:
        return libpq_url(own)
    return with_database(libpq_url(base_url), name)


def has_own_database_url(name: str, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get(f"{env_key(name)}_DATABASE_URL"))


def redact(url: str) -> str:
    """``url`` without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
