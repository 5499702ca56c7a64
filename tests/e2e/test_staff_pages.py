"""The staff home and the failed-mails page."""

from tests.factories import new_family, new_school


def test_staff_home_lists_the_back_office_and_is_closed_to_parents(suite):
    staff = new_school(suite)
    home = staff.page("/gestion")
    assert home.status_code == 200
    for link in (
        "/gestion/eleves",
        "/gestion/parents",
        "/gestion/import",
        "/gestion/collegues",
        "/gestion/evenements",
        "/gestion/journal",
        "/gestion/securite",
        "/gestion/documents",
        "/gestion/extraits",
        "/gestion/photos",
        "/gestion/reunions",
        "/gestion/courriels-en-echec",
    ):
        assert home.text.count(f'href="{link}"') == 2  # its card, and the navigation
    assert "Élèves, parents" not in home.text  # the people side is no longer "through the JSON API"
    failed = staff.page("/gestion/courriels-en-echec")
    assert failed.status_code == 200 and "Aucun courriel en échec." in failed.text
    parent = new_family(suite, staff, [{"first_name": "Jade"}])
    assert parent.page("/gestion").status_code == 403
    assert parent.page("/gestion/courriels-en-echec").status_code == 403
