"""Web pages: staff. Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("staff", __name__)
