"""Every migration goes up and down, one revision at a time, and head matches the models."""

from realtime.models import Base
from vc_common.testing.migrations import check_migrations


async def test_every_migration_up_and_down_and_head_matches_the_models() -> None:
    await check_migrations("realtime", Base.metadata)
