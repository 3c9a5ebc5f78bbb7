"""Settings of the tasks service (environment variables, see vc_common.settings)."""

from __future__ import annotations

from vc_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "tasks"
    # the files service, asked (with the caller's token) about a file its events have not told
    # us of yet: an upload attached at once must not be a 422
    files_url: str = "http://127.0.0.1:8110"
    files_timeout: float = 5.0
    # A board answer embeds every task; beyond this a client should filter GET .../tasks.
    max_tasks_per_column_page: int = 2000
