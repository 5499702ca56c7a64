from alembic import context

from kit.migrations import run_env
from services.orders.db import metadata

run_env(context, metadata)
