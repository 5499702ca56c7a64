"""``kit.bus.Binding`` is generic in its event message: a handler typed with the message it reacts to
type-checks, one typed with another message does not (mypy is run on a small module)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api

from kit.settings import ROOT

MODULE = textwrap.dedent(
    """
    from typing import Any

    from sqlalchemy.orm import Session

    from cartable.events.v1 import envelope_pb2
    from cartable.finance.v1 import events_pb2
    from kit.bus import Binding


    def issued(session: Session, env: envelope_pb2.Envelope, ev: events_pb2.InvoiceIssued) -> None:
        print(ev.invoice_id)


    BINDINGS: dict[str, Binding[Any]] = {
        "finance.invoice.issued.v1": Binding(events_pb2.InvoiceIssued, issued),
    }
    {mismatch}
    """
)


def _mypy(tmp_path: Path, mismatch: str = "") -> tuple[str, int]:
    target = tmp_path / "typed_handlers.py"
    target.write_text(MODULE.replace("{mismatch}", mismatch))
    out, err, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            "--no-incremental",
            str(target),
        ]
    )
    return out + err, status


def test_a_handler_typed_with_its_event_message_type_checks(tmp_path):
    out, status = _mypy(tmp_path)
    assert status == 0, out


def test_a_handler_bound_to_another_message_is_a_type_error(tmp_path):
    out, status = _mypy(tmp_path, "WRONG = Binding(events_pb2.InvoiceCancelled, issued)")
    assert status == 1
    assert "typed_handlers.py" in out and "arg-type" in out, out
