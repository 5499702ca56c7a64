"""Web pages: account. Filled in by the capability that owns it."""

from flask import Blueprint

bp = Blueprint("account", __name__)
