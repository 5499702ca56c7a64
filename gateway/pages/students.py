"""Staff pages: the school's students. Being written."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("students", __name__)
