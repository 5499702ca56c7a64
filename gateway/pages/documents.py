"""Web pages: documents. Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("documents", __name__)
