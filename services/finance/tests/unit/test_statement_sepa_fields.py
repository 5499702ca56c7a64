"""What the statement parsers keep of SEPA direct debits (issue #18): a movement's end-to-end id, the
R-transaction type and the ISO return reason, from CODA record 2.2 (positions 64-98, 113, 114-117)
and camt.053 (TxDtls/Refs/EndToEndId, RtrInf/Rsn/Cd); "" when the bank gives none, every other field
as before."""

from __future__ import annotations

from services.finance.domain.statements import parse_statement
from services.finance.tests.statement_builders import OGM, Mv, build_camt053, build_coda, records

E2E = "E" + "AB12" * 8


def test_coda_record_2_2_carries_the_end_to_end_id_and_the_r_transaction():
    data = build_coda(
        [
            Mv(
                4200,
                direction="debit",
                free_text="RETOUR",
                end_to_end_id=E2E,
                r_transaction="2",
                return_reason="AM04",
            ),
            Mv(1000, ogm=OGM),
        ]
    )
    rec22 = next(r for r in records(data) if r.startswith(b"22"))
    assert rec22[63:98].strip() == E2E.encode() and rec22[112:113] == b"2" and rec22[113:117] == b"AM04"
    returned, plain = parse_statement(data).movements
    assert (returned.end_to_end_id, returned.r_transaction, returned.return_reason) == (E2E, "2", "AM04")
    assert (returned.direction, returned.amount_cents, returned.free_communication) == (
        "debit",
        4200,
        "RETOUR",
    )
    assert (plain.end_to_end_id, plain.r_transaction, plain.return_reason) == ("", "", "")
    assert plain.structured_communication == OGM


def test_coda_details_of_a_globalised_credit_keep_their_own_end_to_end_ids():
    data = build_coda([(Mv(1000, end_to_end_id="E1"), Mv(2000, end_to_end_id="E2"))])
    assert [m.end_to_end_id for m in parse_statement(data).movements] == ["E1", "E2"]


def test_camt053_refs_and_return_information():
    data = build_camt053(
        [
            Mv(4200, direction="debit", end_to_end_id=E2E, return_reason="MD01", reversal=True),
            Mv(1000, ogm=OGM),
            Mv(500, end_to_end_id="NOTPROVIDED"),
        ]
    )
    returned, plain, unknown = parse_statement(data).movements
    assert (returned.end_to_end_id, returned.r_transaction, returned.return_reason) == (E2E, "2", "MD01")
    assert returned.reversal
    assert (plain.end_to_end_id, plain.r_transaction) == ("E2E-2", "")
    assert unknown.end_to_end_id == ""
