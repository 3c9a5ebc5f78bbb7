from analytics.models import Base
from vc_common.migrations import run_migrations

run_migrations("analytics", Base.metadata)
