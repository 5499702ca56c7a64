"""The JSON API (API.md), one module per area; each has ``bp`` and its ``OPENAPI`` paths."""

from gateway.api import core

ALL = [core]
