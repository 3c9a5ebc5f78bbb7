"""Settings of files (environment variables; the shared ones are in vc_common.settings).

Storage is local disk (``FILES_DIR``) unless ``FILES_S3_ENDPOINT`` (or ``FILES_STORAGE=s3``)
names an S3-compatible store; the same code path serves both (``files.storage``).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, model_validator
from vc_common.settings import ServiceSettings

MiB = 1024 * 1024
DEV_URL_SECRET = "dev-files-url-secret-change-me"


class Settings(ServiceSettings):
    service_name: str = "files"

    # where the bytes go: "local" (FILES_DIR) or "s3"; empty: s3 when an endpoint is named
    files_storage: Literal["", "local", "s3"] = ""
    # default: files/ in the dev runner's data folder (VC_RUN_DIR, else .run/ under the cwd)
    files_dir: str = Field(
        default_factory=lambda: os.path.join(os.environ.get("VC_RUN_DIR") or ".run", "files")
    )
    files_fsync: bool = True
    files_s3_endpoint: str | None = None
    files_s3_bucket: str = "virtualcoworking-files"
    files_s3_access_key: str | None = None
    files_s3_secret_key: str | None = None
    files_s3_region: str = "us-east-1"
    # parts of a multipart upload (S3's minimum is 5 MiB, except the last part)
    files_s3_part_size: int = 8 * MiB
    # create the bucket at start when it does not exist (development, tests)
    files_s3_create_bucket: bool = True

    # limits
    files_max_bytes: int = 100 * MiB
    files_team_quota_bytes: int = 10 * 1024 * MiB
    # an upload still running after this long is cut off; the sweeper reclaims what a crashed
    # upload left (its row, its bytes) once this and a grace period have passed
    files_upload_timeout: float = 3600.0

    # signed URLs (``file_url``): HMAC-SHA256 with this secret, valid this long
    files_url_secret: str = DEV_URL_SECRET
    files_url_ttl: int = 3600
    # prefix of the URLs this service hands out (empty: paths on the gateway, "/api/v1/...")
    files_public_url: str = ""

    # avatars: at most this large, decoded within this many pixels, re-encoded to a square
    avatar_max_bytes: int = 5 * MiB
    avatar_max_pixels: int = 40_000_000
    avatar_size: int = 256

    # the sweeper: how often, how many rows per tick
    files_sweep_every: float = 30.0
    files_sweep_batch: int = 100

    @model_validator(mode="after")
    def _check_files(self) -> Settings:
        if self.files_max_bytes <= 0 or self.files_team_quota_bytes <= 0:
            raise ValueError("FILES_MAX_BYTES and FILES_TEAM_QUOTA_BYTES must be positive")
        if self.files_s3_part_size < 5 * MiB:
            raise ValueError("FILES_S3_PART_SIZE must be at least 5 MiB (S3's minimum part)")
        if self.environment == "production":
            if self.files_url_secret == DEV_URL_SECRET or len(self.files_url_secret) < 32:
                raise ValueError(
                    "ENVIRONMENT=production needs FILES_URL_SECRET (32 characters or more)"
                )
            if self.storage_kind == "local" and "FILES_DIR" not in os.environ:
                raise ValueError("ENVIRONMENT=production needs FILES_DIR or FILES_S3_ENDPOINT")
        return self

    @property
    def storage_kind(self) -> Literal["local", "s3"]:
        if self.files_storage:
            return self.files_storage
        return "s3" if self.files_s3_endpoint else "local"
