"""The web pages for parents and staff, one module per area."""

from gateway.pages import home

ALL = [home]
