"""Finance's part of the record of processing (GDPR art. 30, issue #21): what personal data each of its
tables holds, why, on what basis and for how long (``kit.privacy``; ``docs/privacy.md`` is generated from
it). Retention says what the code does today: accounting records are kept for the legal period,
pseudonymised when auth erases a family (``family_erasure.py``), then anonymised by the ``anonymise``
command."""

from __future__ import annotations

from kit.privacy import Processing, Record

_ACCOUNTING_RETENTION = (
    "Kept as accounting records (the legal period is 7 years in Belgium, art. III.88 of the Code of "
    "economic law). When auth erases a family (auth.family.erased.v1, on request or by the school's "
    "retention policy), the rows stay with their amounts and dates but are pseudonymised: the "
    "children's names become a pseudonym, the family's names are taken out of the texts, and "
    "holders', debtors' and counterparties' names and IBANs are cleared (a mandate's holder becomes the "
    "parent's pseudonym and the mandate is revoked); after keep_financial_until the daily anonymise "
    "command strips what still identifies them."
)

RECORD = Record(
    service="finance",
    processing=(
        Processing(
            data=(
                "Students' first and last names, class, level, enrolment status and leaving date (copied "
                "from auth's events); each student's wallets and balances, the structured communications "
                "(OGM) that credit them, and the till sales made to the student (items, quantities, "
                "amounts, the staff member who recorded them); the double-entry ledger's transactions "
                "naming the student id."
            ),
            tables=(
                "students",
                "wallets",
                "structured_communications",
                "sales",
                "sale_lines",
                "ledger_transactions",
                "ledger_postings",
            ),
            purpose=(
                "Run the prepaid wallets the family tops up for meals and school purchases, sell from them "
                "at the till, refuse new charges to students who left, and keep the school's ledger."
            ),
            legal_basis=(
                "Contract (art. 6.1.b) for the wallets the family uses; legal obligation (art. 6.1.c): "
                "Belgian accounting law for the ledger and the sales journal."
            ),
            retention=(
                _ACCOUNTING_RETENTION + " The ledger is append-only (database triggers refuse DELETE and "
                "any UPDATE but a transaction's label): on erasure the family's names are replaced in "
                "its labels (a bank transfer's counterparty, an invoice's title), amounts, accounts and "
                "dates stay and it still sums to zero; its student ids and wallet accounts are "
                "pseudonymous once the names are gone."
            ),
        ),
        Processing(
            data=(
                "Invoices and credit notes addressed to a student (number, title, lines, amounts, due "
                "date, status); every payment (student id, method, amount, dates, the parent or staff "
                "account that started it, the provider's payment id and checkout URL); refunds and "
                "chargebacks of online payments."
            ),
            tables=("invoices", "invoice_lines", "credit_notes", "payments", "payment_reversals"),
            purpose=(
                "Invoice school costs to families, take their payments (wallet, cash, bank transfer, "
                "online) and book refunds and chargebacks."
            ),
            legal_basis="Legal obligation (art. 6.1.c): Belgian accounting law; public task (art. 6.1.e) "
            "for the school costs the school must charge.",
            retention=_ACCOUNTING_RETENTION,
            recipients=(
                "The school's staff; the family itself; the payment provider Mollie for online payments "
                "(amount and a description with the invoice title or the student's name)."
            ),
        ),
        Processing(
            data=(
                "Bank statement movements as the bank reported them: the payer's name and IBAN, the "
                "amount, the structured or free communication and the booking date; the credits that "
                "named nothing, until staff assign them; which staff member imported each file."
            ),
            tables=("statement_imports", "bank_movements", "unmatched_transfers"),
            purpose=(
                "Credit bank transfers to the wallet or invoice they name, import each movement once, and "
                "let staff assign the transfers that named nothing."
            ),
            legal_basis="Legal obligation (art. 6.1.c): Belgian accounting law.",
            retention=_ACCOUNTING_RETENTION,
            recipients="The school's staff.",
        ),
        Processing(
            data=(
                "SEPA direct debit mandates signed by a parent (debtor name, IBAN, BIC, mandate reference, "
                "the accepted text, signing time, IP address and user agent, revocation) and the students "
                "they cover; automatic top-up settings and their triggers; collection batches and their "
                "items (amounts, remittance, bank returns); refunds of wallet money to a bank account "
                "(holder name, IBAN, BIC, reason) and the credit-transfer files built for them."
            ),
            tables=(
                "mandates",
                "mandate_students",
                "auto_top_ups",
                "auto_top_up_triggers",
                "direct_debit_batches",
                "direct_debit_items",
                "refunds",
                "refund_batches",
            ),
            purpose=(
                "Collect invoices and automatic wallet top-ups by SEPA direct debit under a mandate the "
                "parent signed, keep the mandate's evidence, and pay wallet refunds by credit transfer."
            ),
            legal_basis=(
                "Contract (art. 6.1.b): the mandate and the refund the family asked for; legal obligation "
                "(art. 6.1.c): Belgian accounting law for the collections and refunds booked."
            ),
            retention=(
                _ACCOUNTING_RETENTION + " A revoked mandate stays, with its evidence; the pain.001 "
                "refund files are kept as built."
            ),
            recipients=(
                "The school's staff; the family itself; the school's bank, which receives the SEPA files "
                "(pain.008 collections, pain.001 refunds) staff download and send."
            ),
        ),
        Processing(
            data=(
                "Childcare tax certificates (281.86): the child's and the paying parent's names and "
                "national numbers (encrypted at rest with the deployment's key, NATIONAL_NUMBER_KEY), the "
                "child's birth date and severe disability, the days and amounts of care paid in the year, "
                "as certified (every version kept)."
            ),
            tables=("tax_certificates",),
            purpose=(
                "Issue the yearly certificate parents need to deduct childcare costs from their income "
                "tax, and correct it with a new version when figures or people change."
            ),
            legal_basis=(
                "Legal obligation (art. 6.1.c): Belgian income tax law's childcare certificate (281.86)."
            ),
            retention=(
                "Kept, every version (the certificate is a tax record, for the accounting period). When "
                "the family is erased, the erased children's certificates (and the erased parent's part "
                "of others) lose the names and national numbers, the figures stay; after "
                "keep_financial_until the anonymise command also removes the child's birth date and "
                "disability."
            ),
            recipients=(
                "The school's staff; the parent it is issued to; the documents service, which renders and "
                "files the PDF."
            ),
        ),
        Processing(
            data=(
                "The staff account id of whoever set a school year's maximum-bill caps or a year's daily "
                "childcare cap."
            ),
            tables=("max_bill_caps", "tax_daily_caps"),
            purpose="Know who set the caps the school's invoices and tax certificates are checked against.",
            legal_basis="Public task (art. 6.1.e): the Flemish maximum bill and the 281.86 certificate.",
            retention="Kept while the setting exists (a later change overwrites it); no automatic erasure.",
            recipients="The school's staff.",
        ),
        Processing(
            data=(
                "The ids of the students and parents of an erased family, the reason (request or "
                "retention), when, until when their pseudonymised financial records are kept, and when "
                "they were anonymised; no name."
            ),
            tables=("erased_families",),
            purpose=(
                "Keep the financial records the law requires no longer than needed: know whose records "
                "to anonymise once the accounting period is over."
            ),
            legal_basis="Legal obligation (art. 6.1.c): Belgian accounting law and the GDPR's storage limitation.",
            retention=(
                "Kept with the financial records they describe (the row says when they were anonymised)."
            ),
            recipients="The school's staff.",
        ),
        Processing(
            data=(
                "Event payloads waiting to be published or recently published, which may name people "
                "(e.g. a tax certificate issued, with names and encrypted national numbers, or a payment); "
                "stored answers to requests sent with an idempotency key, which may hold the same data as the "
                "answer (names, IBANs)."
            ),
            tables=("outbox", "idempotency_keys"),
            purpose=(
                "Publish finance's events to the other services reliably, and answer a repeated request "
                "once only."
            ),
            legal_basis="Those of the processing the event or the request belongs to (above).",
            retention=(
                "Published events are deleted after the bus's retention (7 days by default, "
                "kit.bus.OUTBOX_RETENTION; pending ones stay until published); idempotency keys after 7 "
                "days (kit.idempotency.KEY_TTL); both by the daily purge job."
            ),
            recipients="The services subscribed to finance's events (documents, notifications, ...).",
        ),
    ),
    not_personal=("wallet_types", "till_items", "school_settings", "counters", "inbox"),
)
