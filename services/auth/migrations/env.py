from alembic import context

from kit.migrations import run_env
from services.auth.db import metadata

run_env(context, metadata)
