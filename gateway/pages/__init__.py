"""The web pages for parents and staff, one module per area."""

from gateway.pages import (
    account,
    audit,
    documents,
    finance,
    home,
    imports,
    meetings,
    notifications,
    orders,
    payments,
    people,
    photos,
    portal,
    security,
    staff,
    students,
)

ALL = [
    home,
    account,
    security,
    portal,
    documents,
    finance,
    payments,
    orders,
    meetings,
    notifications,
    photos,
    staff,
    people,
    students,
    imports,
    audit,
]
