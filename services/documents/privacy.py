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
            legal_basis=(
                "public task (art. 6.1.e); other families see a child's photos unless the child's parent "
                "refused (consent per child, below)"
            ),
            retention=(
                "a withdrawn photo's files are deleted as the withdrawal commits (the purge-withdrawn-photos "
                "command retries any that failed), its row kept marked withdrawn; the rest is the class's "
                "and stays when a family is erased (the erased child's tags and consent go, below)"
            ),
            recipients=(
                "the school's staff; the families of the album's classes (or of the whole school), but a "
                "photo showing a child whose parent refused only that child's family"
            ),
        ),
        Processing(
            data=(
                "Which children appear in which photo (tagged by staff: who, when), and each child's photo "
                "consent: whether other families may see the photos the child appears in, when and by whom "
                "it was set. No consent recorded: shared, the default of the school's photo policy."
            ),
            tables=("photo_subjects", "photo_consents"),
            purpose=(
                "Show a child's photos to other families only if the child's parents agree, and tell a "
                "family which photos their child appears in (the export)."
            ),
            legal_basis="consent (art. 6.1.a), withdrawn at any time; the tags: public task (art. 6.1.e)",
            retention=(
                "kept while the child is at the school; when the family is erased (auth.family.erased.v1) "
                "the child's tags and consent are deleted, a refusal staying as an anonymous subject of "
                "the photos (a random id linked to nobody) so they stay hidden from other families"
            ),
            recipients="the school's staff; the child's own family (parents never see who else is tagged)",
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
