"""JSON API area: payments (see ../shared/API.md). Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("api_payments", __name__)

OPENAPI: dict = {}
