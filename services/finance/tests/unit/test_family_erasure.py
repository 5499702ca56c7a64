"""The rules finance's erasure applies to free text and to a tax certificate's content (issue #21):
whole words only, the accent-less spelling SEPA files use too, a pseudonym never scrubbed again, and the
certificate's figures kept while the people's names and national numbers go."""

from __future__ import annotations

from cryptography.fernet import Fernet

from kit.privacy import ERASED_PARENT, ERASED_STUDENT, pseudonym
from kit.secretbox import SecretBox
from services.finance.family_erasure import Scrub, certificate_without_people, is_pseudonym

CHILD = pseudonym(ERASED_STUDENT, "s-1")


def scrub() -> Scrub:
    s = Scrub()
    s.add("Zéphyrine", CHILD)
    s.add("Zéphyrine Quorndel", CHILD, words="")
    s.add("Marguerite Quorndel", "")
    return s


def test_a_full_name_becomes_the_pseudonym_and_its_words_alone_too():
    assert scrub()("Classe de neige – Zéphyrine Quorndel") == f"Classe de neige – {CHILD}"
    assert scrub()("Repas de zéphyrine") == f"Repas de {CHILD}"
    assert scrub()("Payé par Marguerite Quorndel, merci") == "Payé par , merci"
    assert scrub()("Famille Quorndel") == "Famille"


def test_the_spelling_without_accents_of_sepa_files_and_banks_is_replaced_too():
    assert scrub()("Remboursement Repas Zephyrine Quorndel") == f"Remboursement Repas {CHILD}"
    assert scrub()("MARGUERITE QUORNDEL") == ""


def test_only_whole_words_are_replaced_and_a_text_naming_no_one_is_kept_as_it_is():
    s = Scrub()
    s.add("Emma", CHILD)
    assert s("Emmanuel et Emma") == f"Emmanuel et {CHILD}"
    assert s("Garderie,  trimestre 1") == "Garderie,  trimestre 1"


def test_a_pseudonym_is_not_a_name_to_scrub_again():
    s = Scrub()
    s.add(CHILD, "")
    s.add(pseudonym(ERASED_PARENT, "p-1"), "")
    assert s.pairs == {} and is_pseudonym(CHILD) and not is_pseudonym("Élève Dupont")


SEALED_CHILD_NN = SecretBox([Fernet.generate_key()]).seal("16021733344")


def test_a_certificate_keeps_its_figures_and_loses_the_peoples_names_and_numbers():
    content = {  # as stored: the national numbers sealed (services/finance/national_numbers.py)
        "periods": [{"start": "2024-01-01", "end": "2024-03-31", "days": 10, "amount_cents": 8000}],
        "capped_amount_cents": 8000,
        "child": {
            "student_id": "s-1",
            "first_name": "Zéphyrine",
            "last_name": "Quorndel",
            "birth_date": "2016-02-17",
            "sealed_national_number": SEALED_CHILD_NN,
            "severe_disability": True,
        },
        "parent": {
            "id": "p-1",
            "first_name": "Marguerite",
            "last_name": "Quorndel",
            "national_number": "86072455566",  # a row sealed by no migration yet: it goes too
        },
    }
    erased = certificate_without_people(content, child=True, parent=True)
    assert (erased["periods"], erased["capped_amount_cents"]) == (content["periods"], 8000)
    assert erased["child"] == {
        **content["child"],
        "first_name": CHILD,
        "last_name": "",
        "sealed_national_number": "",
    }
    assert erased["parent"] == {
        "id": "p-1",
        "first_name": pseudonym(ERASED_PARENT, "p-1"),
        "last_name": "",
        "sealed_national_number": "",
    }
    # a kept child's certificate issued to an erased parent: only the parent's part goes
    assert certificate_without_people(content, child=False, parent=True)["child"] == content["child"]
    deep = certificate_without_people(content, child=True, parent=True, deep=True)["child"]
    assert (deep["birth_date"], deep["severe_disability"]) == ("", False)
