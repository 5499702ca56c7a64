"""The JSON API (API.md), one module per area; each has ``bp`` and its ``OPENAPI`` paths."""

from gateway.api import (
    account,
    audit,
    core,
    dashboard,
    documents,
    finance,
    finance_staff,
    meetings,
    notifications,
    orders,
    payments,
    payments_staff,
    people,
    photos,
    security,
)

ALL = [
    core,
    security,
    account,
    people,
    audit,
    dashboard,
    documents,
    finance,
    finance_staff,
    payments,
    payments_staff,
    orders,
    meetings,
    notifications,
    photos,
]
