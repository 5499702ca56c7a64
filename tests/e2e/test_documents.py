"""Documents through the gateway: the school deposits, parents list and open, read state per parent,
uploads checked, another family's document out of reach."""

from __future__ import annotations

from kit.testing import wait_for
from tests.factories import expect, new_family, new_school

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def deposit(
    staff, students, *, content=PDF, name="Ephémérides juin 2017.pdf", title="Éphémérides juin 2017", **extra
):
    data = {"title": title, "student_ids": ",".join(students), **extra}
    return staff.post("/admin/documents", data=data, files={"file": (name, content, "application/pdf")})


def test_documents_are_unread_until_opened_by_each_parent(suite):
    staff = new_school(suite)
    emma = staff.create_student("Emma", "Dupont", "1A")
    mum = new_family(suite, staff, [emma], first_name="Marie")
    dad = new_family(suite, staff, [emma], first_name="Paul")
    made = expect(deposit(staff, [emma["id"]]), 201).json()["items"]
    assert [d["student_id"] for d in made] == [emma["id"]]
    doc_id = made[0]["id"]

    unread = expect(mum.get("/documents", params={"state": "unread"})).json()["items"]
    assert [(d["id"], d["title"], d["read_at"], d["content_type"], d["size_bytes"]) for d in unread] == [
        (doc_id, "Éphémérides juin 2017", None, "application/pdf", len(PDF))
    ]
    file = expect(mum.get(f"/documents/{doc_id}/file"))
    assert file.content == PDF and file.headers["Content-Type"] == "application/pdf"
    assert "inline" in file.headers["Content-Disposition"]

    assert expect(mum.get("/documents", params={"state": "unread"})).json()["items"] == []
    assert [d["id"] for d in expect(mum.get("/documents", params={"state": "read"})).json()["items"]] == [
        doc_id
    ]
    assert [d["id"] for d in expect(dad.get("/documents", params={"state": "unread"})).json()["items"]] == [
        doc_id
    ]


def test_a_whole_class_gets_the_document(suite):
    staff = new_school(suite)
    a = staff.create_student("Lina", "Peeters", "4B")
    b = staff.create_student("Tom", "Janssens", "4B")
    staff.create_student("Eva", "Maes", "5A")
    made = expect(deposit(staff, [], class_name="4B"), 201).json()["items"]
    assert sorted(d["student_id"] for d in made) == sorted([a["id"], b["id"]])


def test_bad_uploads_are_refused_and_nothing_is_kept(suite):
    staff = new_school(suite)
    kid = staff.create_student("Léo", "Simon", "2A")
    parent = new_family(suite, staff, [kid])
    exe = deposit(
        staff, [kid["id"]], content=b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", name="bulletin.pdf"
    )
    assert (
        exe.status_code == 400
        and exe.json()["error"]["code"] == "invalid_request"
        and "file" in exe.json()["error"]["fields"]
    )
    big = deposit(staff, [kid["id"]], content=b"%PDF-1.4\n" + b"0" * (21 * 1024 * 1024))
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    unknown = deposit(staff, ["00000000-0000-0000-0000-000000000000"])
    assert unknown.status_code == 400 and "student_ids" in unknown.json()["error"]["fields"]
    no_title = deposit(staff, [kid["id"]], title="")
    assert no_title.status_code == 400
    assert expect(parent.get("/documents")).json()["items"] == []


def test_parents_cannot_deposit_nor_fetch_another_familys_document(suite):
    staff = new_school(suite)
    ours = staff.create_student("Ana", "Lopez", "1A")
    theirs = staff.create_student("Ben", "Claes", "1A")
    parent = new_family(suite, staff, [ours])
    their_doc = expect(deposit(staff, [theirs["id"]]), 201).json()["items"][0]["id"]
    assert parent.get(f"/documents/{their_doc}/file").status_code == 404
    assert deposit(parent, [ours["id"]]).status_code == 403
    assert parent.get("/documents/not-a-real-id/file").status_code == 404


def test_issued_invoice_appears_as_a_pdf_document_once(suite):
    staff = new_school(suite)
    kid = staff.create_student("Mia", "Wouters", "3B")
    parent = new_family(suite, staff, [kid])
    mark = suite.bus_mark()
    invoice = expect(
        staff.post(
            "/admin/invoices",
            json={
                "student_id": kid["id"],
                "title": "Visite à Bruges",
                "due_on": "2027-01-15",
                "lines": [{"label": "Car", "quantity": 1, "unit_price_cents": 1500}],
            },
        ),
        201,
    ).json()
    docs = wait_for(
        lambda: [
            d for d in parent.get("/documents").json()["items"] if d["title"] == "Facture – Visite à Bruges"
        ],
        timeout=60,
        what="the invoice PDF in the documents",
    )
    assert len(docs) == 1, "the invoice PDF must appear in the documents"
    pdf = expect(parent.get(f"/documents/{docs[0]['id']}/file")).content
    assert pdf.startswith(b"%PDF")
    import io

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert invoice["number"] in text and "15,00 €" in text
    suite.wait_until_settled(mark)  # a doubled invoice event would have made its document by now
    assert len([d for d in parent.get("/documents").json()["items"] if d["title"].startswith("Facture")]) == 1
