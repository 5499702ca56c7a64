"""Web pages: portal. Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("portal", __name__)
