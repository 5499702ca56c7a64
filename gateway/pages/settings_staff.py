"""Staff pages: the school's payment settings and wallet types. Being written."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("settings_staff", __name__)
