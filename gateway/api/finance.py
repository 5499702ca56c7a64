"""JSON API area: finance (see ../shared/API.md). Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("api_finance", __name__)

OPENAPI: dict = {}
