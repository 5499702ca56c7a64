"""JSON API area: dashboard (see ../shared/API.md). Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("api_dashboard", __name__)

OPENAPI: dict = {}
