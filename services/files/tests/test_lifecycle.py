"""Lifecycle: a deleted file's bytes go after its row says so (the sweeper), an upload that
crashed is reclaimed, a deleted team's files are deleted; two sweepers never take the same row."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from files.files import service
from files.models import File
from files.units import own_unit
from sqlalchemy import update
from teams_client.testing import Team
from vc_common.jobs import run_job
from vc_common.testing.plugin import Deliver, MovableClock, ReadOutbox, make_event


async def upload(client: httpx.AsyncClient, team: Team, data: bytes, name: str = "a.bin") -> str:
    r = await client.post(
        f"/api/v1/teams/{team.id}/files",
        params={"filename": name},
        content=data,
        headers={**team.member.headers, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    fid: str = r.json()["id"]
    return fid


async def test_a_deleted_files_bytes_go_after_its_row(
    app: Any, client: httpx.AsyncClient, team: Team, look: Any
) -> None:
    fid = await upload(client, team, b"x" * 1000)
    key = f"teams/{team.id}/{fid}"
    assert await look.team_objects(team.id) == [key]
    assert (
        await client.delete(f"/api/v1/files/{fid}", headers=team.member.headers)
    ).status_code == 204
    # gone for users at once, the bytes still there, the row marked for the sweeper
    assert await look.rows(team.id) == [("deleted", 1000)]
    assert await look.team_objects(team.id) == [key]
    assert await run_job(app, "sweeper") == 1
    assert await look.team_objects(team.id) == []
    assert await look.rows(team.id) == []
    assert await run_job(app, "sweeper") == 0


async def test_a_crashed_upload_is_reclaimed_once_it_cannot_finish(
    app: Any, team: Team, look: Any, clock: MovableClock
) -> None:
    """An upload whose process died: a pending row, its reservation and part of its bytes."""
    actor = await app.state.verifier.verify(team.member.token)
    from vc_common.context import context_for

    ctx = context_for(app, app.state.db.sessionmaker(), actor)
    r = await service.reserve(ctx, team.id, name="half.bin", declared=5000)
    writer = await app.state.storage.writer(r.key)
    await writer.write(b"h" * 2000)  # ... and the process dies here: no commit, no abort
    if app.state.storage.kind == "local":
        await asyncio.to_thread(writer.file.flush)
    assert await look.used(team.id) == 5000
    assert await look.rows(team.id) == [("pending", 5000)]
    async with own_unit(ctx) as unit:  # created at the test clock's "now"
        await unit.session.execute(
            update(File).where(File.id == r.file_id).values(created_at=clock.now)
        )

    assert await run_job(app, "sweeper") == 0  # not yet: an upload may run an hour
    clock.advance(hours=1, minutes=10)
    assert await run_job(app, "sweeper") == 1
    assert await look.rows(team.id) == []
    assert await look.team_objects(team.id) == []
    assert await look.used(team.id) == 0


async def test_a_deleted_teams_files_are_deleted(
    app: Any,
    client: httpx.AsyncClient,
    team: Team,
    deliver: Deliver,
    outbox: ReadOutbox,
    look: Any,
) -> None:
    ids = {await upload(client, team, b"y" * n, name=f"{n}.bin") for n in (10, 20)}
    assert await deliver(
        make_event(
            "teams.team.deleted",
            {
                "team_id": str(team.id),
                "user_id": str(team.owner.id),
                "actor_id": str(team.owner.id),
                "member_ids": [str(u.id) for u in team.members],
            },
            subject=team.id,
        )
    )
    events = await outbox("files.file.deleted")
    assert {e["data"]["file_id"] for e in events} == ids
    assert {e["data"]["reason"] for e in events} == {"team_deleted"}
    assert {e["data"]["user_id"] for e in events} == {str(team.owner.id)}
    assert sorted(await look.rows(team.id)) == [("deleted", 10), ("deleted", 20)]
    assert await look.used(team.id) == 0
    for fid in ids:
        assert (
            await client.get(f"/api/v1/files/{fid}", headers=team.member.headers)
        ).status_code == 404
    assert await run_job(app, "sweeper") == 2
    assert await look.team_objects(team.id) == []
    assert await look.rows(team.id) == []


async def test_two_sweepers_never_take_the_same_row(
    live_app: Any, live_client: httpx.AsyncClient, make_team: Any
) -> None:
    """Two replicas' sweepers racing on real commits: every row swept exactly once."""
    team = make_team()
    ids = [await upload(live_client, team, b"z" * 100, name=f"{i}.bin") for i in range(12)]
    for fid in ids:
        r = await live_client.delete(f"/api/v1/files/{fid}", headers=team.member.headers)
        assert r.status_code == 204
    live_app.state.settings.files_sweep_batch = 4
    from files.lifecycle import sweep

    storage = live_app.state.storage
    deleted: list[str] = []
    real_delete = storage.delete

    async def counting_delete(key: str, **kw: Any) -> None:
        deleted.append(key)
        await asyncio.sleep(0.01)  # hold the claim a while: the other sweeper must skip it
        await real_delete(key, **kw)

    storage.delete = counting_delete
    try:
        from vc_common.context import context_for

        async def one_replica() -> int:
            total = 0
            while True:
                async with live_app.state.db.unit_of_work() as session:
                    done = await sweep(context_for(live_app, session), storage)
                if done == 0:
                    return total
                total += done

        counts = await asyncio.gather(one_replica(), one_replica())
    finally:
        storage.delete = real_delete
    mine = [k for k in deleted if k.startswith(f"teams/{team.id}/")]
    assert sorted(mine) == sorted(f"teams/{team.id}/{fid}" for fid in ids)
    assert sum(counts) >= len(ids)
    assert len(mine) == len(set(mine))  # no row swept twice
    look_objects = await live_app_objects(live_app, team.id)
    assert look_objects == []


async def live_app_objects(app: Any, team_id: uuid.UUID) -> list[str]:
    storage = app.state.storage
    if storage.kind == "local":
        root = storage.root / "teams" / str(team_id)
        return [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []
    found = await storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=f"teams/{team_id}/")
    return [o["Key"] for o in found.get("Contents", [])]
