"""The web pages for parents and staff, one module per area."""

from gateway.pages import (
    account,
    documents,
    finance,
    home,
    meetings,
    notifications,
    orders,
    payments,
    photos,
    portal,
    staff,
)

ALL = [home, account, portal, documents, finance, payments, orders, meetings, notifications, photos, staff]
