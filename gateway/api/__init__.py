"""The JSON API (API.md), one module per area; each has ``bp`` and its ``OPENAPI`` paths."""

from gateway.api import (
    account,
    core,
    dashboard,
    documents,
    finance,
    meetings,
    notifications,
    orders,
    payments,
    photos,
)

ALL = [core, account, dashboard, documents, finance, payments, orders, meetings, notifications, photos]
