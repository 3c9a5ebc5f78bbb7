"""Settings of the tasks service (environment variables, see vc_common.settings)."""

from __future__ import annotations

from vc_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "tasks"
    # A board answer embeds every task; beyond this a client should filter GET .../tasks.
    max_tasks_per_column_page: int = 2000
