"""An account's status as the school sees it: ``invited`` until its first connection sets a password,
then ``active``; ``disabled`` while the school has disabled it, whatever it was before."""

from __future__ import annotations

from typing import Literal

Status = Literal["invited", "active", "disabled"]
STATUSES: tuple[Status, ...] = ("invited", "active", "disabled")


def account_status(has_password: bool, disabled: bool) -> Status:
    if disabled:
        return "disabled"
    return "active" if has_password else "invited"
