"""JSON API area: orders (see ../shared/API.md). Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("api_orders", __name__)

OPENAPI: dict = {}
