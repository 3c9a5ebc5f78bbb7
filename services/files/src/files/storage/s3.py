"""Any S3-compatible store (AWS S3, MinIO, Ceph, moto's server in the tests), through
aiobotocore, the maintained async client on botocore.

An object smaller than one part goes up in one ``PutObject`` at commit; a larger one as a
multipart upload, part by part as the blocks arrive (``FILES_S3_PART_SIZE``, 8 MiB): one part
uploads while the next one fills, so at most two parts are held in memory per upload. ``abort``
aborts the multipart upload (S3 then forgets its parts). Reads are ranged ``GetObject``s
streamed in blocks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from files.settings import Settings
from files.storage import ObjectMissing

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
else:
    S3Client = Any

log = logging.getLogger("files.storage.s3")

READ_BLOCK = 1024 * 1024


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"NoSuchKey", "404", "NotFound"}


class S3Writer:
    def __init__(self, storage: S3Storage, key: str) -> None:
        self.s3 = storage.client
        self.bucket = storage.bucket
        self.key = key
        self.part_size = storage.part_size
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.inflight: asyncio.Task[None] | None = None

    async def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= self.part_size:
            part = bytes(self.buffer[: self.part_size])
            del self.buffer[: self.part_size]
            await self._send_part(part)

    async def _send_part(self, body: bytes) -> None:
        if self.upload_id is None:
            created = await self.s3.create_multipart_upload(Bucket=self.bucket, Key=self.key)
            self.upload_id = created["UploadId"]
        if self.inflight is not None:  # at most one part on the wire while the next fills
            await self.inflight
        number = len(self.parts) + 1
        self.parts.append({"PartNumber": number})
        self.inflight = asyncio.create_task(self._upload_part(number, body))

    async def _upload_part(self, number: int, body: bytes) -> None:
        assert self.upload_id is not None
        answer = await self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts[number - 1]["ETag"] = answer["ETag"]

    async def commit(self) -> None:
        if self.upload_id is None:
            await self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer))
            self.buffer.clear()
            return
        if self.buffer:
            await self._send_part(bytes(self.buffer))
            self.buffer.clear()
        if self.inflight is not None:
            await self.inflight
            self.inflight = None
        await self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},  # type: ignore[typeddict-item]
        )

    async def _abort(self) -> None:
        self.buffer.clear()
        if self.inflight is not None:
            self.inflight.cancel()
            with contextlib.suppress(BaseException):
                await self.inflight
        if self.upload_id is not None:
            try:
                await self.s3.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
                )
            except ClientError as exc:
                log.warning("abort of the multipart upload of %s failed: %s", self.key, exc)

    async def abort(self) -> None:
        await asyncio.shield(self._abort())


class S3Storage:
    kind = "s3"

    def __init__(self, client: S3Client, bucket: str, part_size: int) -> None:
        self.client = client
        self.bucket = bucket
        self.part_size = part_size

    @classmethod
    async def open(cls, settings: Settings, stack: AsyncExitStack) -> S3Storage:
        session = get_session()
        client = await stack.enter_async_context(
            session.create_client(
                "s3",
                endpoint_url=settings.files_s3_endpoint,
                region_name=settings.files_s3_region,
                aws_access_key_id=settings.files_s3_access_key,
                aws_secret_access_key=settings.files_s3_secret_key,
                config=AioConfig(
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": 3, "mode": "standard"},
                    max_pool_connections=50,
                    # no checksum of every part computed ahead (a second pass over the bytes)
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
            )
        )
        storage = cls(client, settings.files_s3_bucket, settings.files_s3_part_size)
        if settings.files_s3_create_bucket:
            await storage.ensure_bucket()
        return storage

    async def ensure_bucket(self) -> None:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            with contextlib.suppress(
                self.client.exceptions.BucketAlreadyOwnedByYou,
                self.client.exceptions.BucketAlreadyExists,
            ):
                await self.client.create_bucket(Bucket=self.bucket)

    async def writer(self, key: str) -> S3Writer:
        return S3Writer(self, key)

    async def read(self, key: str, start: int, stop: int) -> AsyncIterator[bytes]:
        if stop <= start:
            return
        try:
            answer = await self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{stop - 1}"
            )
        except ClientError as exc:
            if _missing(exc):
                raise ObjectMissing(key) from exc
            raise
        body = answer["Body"]
        try:
            async for block in body.iter_chunks(READ_BLOCK):
                yield block
        finally:
            body.close()

    async def delete(self, key: str, *, incomplete: bool = False) -> None:
        # DeleteObject of a missing key succeeds: deleting twice is harmless
        await self.client.delete_object(Bucket=self.bucket, Key=key)
        if incomplete:  # a crashed upload's parts: only their upload id can free them
            listed = await self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
            for upload in listed.get("Uploads", []):
                if upload.get("Key") == key and "UploadId" in upload:
                    await self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload["UploadId"]
                    )

    async def exists(self, key: str) -> bool:
        try:
            await self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True
