"""JSON API area: account (see ../shared/API.md). Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("api_account", __name__)

OPENAPI: dict = {}
