"""JSON API: the school's imports (API.md "School back office"). Being written."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_imports", __name__)

OPENAPI: dict = {}
