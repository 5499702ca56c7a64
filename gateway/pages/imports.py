"""Staff pages: the school's imports. Being written."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("imports", __name__)
