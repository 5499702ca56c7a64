"""What the documents service holds on people, for the record of processing (``kit.privacy``, issue #21)."""

from __future__ import annotations

from kit.privacy import Processing, Record

ERASED = (
    "kept until the family is erased (on request, or by auth's retention after the children left): on "
    "auth.family.erased.v1 the erased children's documents and files, the documents addressed to an erased "
    "parent alone and the erased parents' read receipts are deleted; a child still enrolled keeps theirs"
)

RECORD = Record(
    service="documents",
    processing=(
        Processing(
            data=(
                "Documents for a child or a parent (title, file name, the file in the blob store: invoices, "
                "statements, tax certificates with national numbers, what the school deposits), and which "
                "account read which document when."
            ),
            tables=("documents", "document_reads"),
            purpose="Give each family the school's documents about their children.",
            legal_basis="public task (art. 6.1.e); invoices and tax certificates: legal obligation (art. 6.1.c)",
            retention=ERASED,
            recipients="the school's staff; the family the document is addressed to",
        ),
        Processing(
            data=(
                "Photo albums and photos (images of pupils, re-encoded without location or camera data; who "
                "uploaded or withdrew them); the album's classes and offers for sale."
            ),
            tables=("photo_albums", "photo_album_classes", "photos", "photo_album_offers"),
            purpose="Share the school's photos with the families of the classes they were taken in.",
            legal_basis="public task (art. 6.1.e); a consent per child for other families to see them is not built yet (issue #21)",
            retention=(
                "a withdrawn photo's files are deleted as the withdrawal commits (the purge-withdrawn-photos "
                "command retries any that failed), its row kept marked withdrawn; the rest is the class's "
                "and stays when a family is erased (no child is recorded in a photo)"
            ),
            recipients="the school's staff; the families of the album's classes (or of the whole school)",
        ),
        Processing(
            data=(
                "A family's data exports: who asked (the parent or a manager) and when, and the ZIP in the "
                "blob store (every service's part on the parent and their children: names, national "
                "numbers, amounts, documents and photos)."
            ),
            tables=("data_exports",),
            purpose="Give a family a copy of everything the school holds on them (GDPR art. 15 and 20).",
            legal_basis="legal obligation (art. 6.1.c: the right of access, art. 15)",
            retention=(
                "the ZIP is kept 7 days after it is ready, then the daily purge-exports command deletes it "
                "and marks the export expired; the request row stays until the parent is erased "
                "(auth.family.erased.v1), when it goes with its ZIP"
            ),
            recipients="only the parent it is about (a manager may ask for it, never download it)",
        ),
        Processing(
            data="Events waiting to be published and those published (document titles, album titles).",
            tables=("outbox",),
            purpose="Tell notifications of new documents and albums, so it mails the families.",
            legal_basis="those of the processing the event belongs to",
            retention=(
                "published events are deleted after 7 days (the daily purge, kit.bus.OUTBOX_RETENTION), and "
                "at once when a family is erased"
            ),
            recipients="the other Cartable services, through the school's RabbitMQ",
        ),
    ),
    not_personal=("inbox",),
)
