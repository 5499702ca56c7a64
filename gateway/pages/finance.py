"""Web pages: finance. Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("finance", __name__)
