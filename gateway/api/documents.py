"""JSON API area: documents (see ../shared/API.md). Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("api_documents", __name__)

OPENAPI: dict = {}
