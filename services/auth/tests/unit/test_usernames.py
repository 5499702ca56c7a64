import pytest

from services.auth.domain.usernames import MAX_LENGTH, make_username, normalize_username


def nobody(_):
    return False


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("Émilie", "Dupré-Lefèvre", "emilie.dupre-lefevre"),
        ("Jean", "Van den Bossche", "jean.van-den-bossche"),
        ("Anne", "D'Hondt", "anne.dhondt"),
        ("Zoë", "Œuvray", "zoe.oeuvray"),
        ("  Marie-Hélène ", " Müller ", "marie-helene.muller"),
        ("Łukasz", "Straße", "lukasz.strasse"),
        ("", "Dupont", "dupont"),
        ("Мария", "Иванова", "parent"),
    ],
)
def test_names_become_lowercase_ascii_with_a_dot(first, last, expected):
    assert make_username(first, last, nobody) == expected


def test_taken_names_get_a_number_from_2():
    taken = {"emilie.dupre", "emilie.dupre2"}
    assert make_username("Emilie", "Dupré", taken.__contains__) == "emilie.dupre3"
    assert make_username("Émilie", "Dupre", {"emilie.dupre"}.__contains__) == "emilie.dupre2"


def test_long_names_are_cut_suffix_included():
    first, last = "Marie-Charlotte-Bénédicte", "de Limbourg-Stirum-de-Hemricourt"
    name = make_username(first, last, nobody)
    assert len(name) == MAX_LENGTH
    assert name.startswith("marie-charlotte-benedicte.de-limbourg")
    assert not name.endswith(("-", "."))

    taken: set[str] = set()

    def take(candidate):
        if candidate in taken:
            return True
        taken.add(candidate)
        return False

    made = [make_username(first, last, take) for _ in range(12)]
    assert len(set(made)) == 12
    assert made[1].endswith("2") and made[11].endswith("12")
    assert all(len(m) <= MAX_LENGTH and not m.rstrip("0123456789").endswith(("-", ".")) for m in made)


def test_an_endlessly_taken_name_gives_up():
    with pytest.raises(RuntimeError):
        make_username("A", "B", lambda _: True)


def test_typed_usernames_are_normalised_for_lookup():
    assert normalize_username("  Emilie.Dupre ") == "emilie.dupre"
