"""Reactions to other services' events: a family erased by auth (auth.family.erased.v1) is erased
here too (``family_data.erase``)."""

from __future__ import annotations

from typing import Any

from kit.bus import Binding
from kit.family_data import erasure_binding
from services.meetings import family_data


def bindings() -> dict[str, Binding[Any]]:
    """Every event meetings consumes, by routing key."""
    return {**erasure_binding(family_data.erase)}
