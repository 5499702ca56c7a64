"""JSON API: the school's students (API.md "School back office"). Being written."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_students", __name__)

OPENAPI: dict = {}
