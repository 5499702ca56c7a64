"""Web pages: orders. Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("orders", __name__)
