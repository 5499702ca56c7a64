"""The finance service's use cases, one module per capability (see docs/architecture.md); each class
takes the runtime (and what else ``app.py`` injects) and answers the API's protobuf messages.

- ``wallets``: wallet types, students' wallets and their communications.
- ``settings``: the school's payment settings.
- ``invoices``: issuing invoices (staff, orders), listing them, credit notes.
- ``wallet_payments``: paying an invoice from a wallet.
- ``online_payments``: starting online payments (top-ups, invoices, orders' checkouts), reading one.
- ``webhooks``: the provider's word on a payment (webhook, sync of lost webhooks), booking it once.
- ``reversals``: refunds and chargebacks of online payments.
- ``transfers``: transfer details (EPC QR code) and unmatched transfers assigned by the manager.
- ``statements`` (and ``statement_batch``): bank statement imports.
- ``operations``: cash top-ups, sales, the operations and sales lists.
- ``bulk_invoices``: one invoice per active student of classes or named, one transaction, once per key.
- ``school_invoices``: the school's invoice list (filters, keyset pages) and the finance summary.
- ``till``: the till's price list (TillService).
- ``exports``: the accountant's exports of a date range (ExportsService), keyset pages and totals.
- ``reconciliation``: one imported statement, movement by movement, with its outcome.
- ``mandates``, ``auto_top_ups``, ``direct_debits``: SEPA direct debit (DirectDebitService): e-mandates,
  automatic top-ups, collection batches and their pain.008 file; ``direct_debit_returns``: what a
  statement import says of the batches (credits, returned debits).
- ``common``: the clock, idempotency, periods, lines, loading invoices, crediting an invoice.

How an invoice gets paid: ``domain.invoices.settle`` says what the money covers and what is left;
wallet_payments, webhooks (through ``common.credit_invoice``), statement_batch, transfers and
reversals all ask it.

Audit (the staff actions that move money or change settings, API.md's ``GET /api/v1/admin/audit``):
each of these records its entry with ``kit.audit.record`` inside its unit of work (the entry commits
with the change or not at all): update_settings (finance.settings.updated, and
finance.settings.iban_changed with the IBANs masked), create_wallet_type, create_invoice,
bulk_create_invoices (finance.invoices.bulk_created, one entry per batch),
issue_credit_note, record_top_up, record_sale, pay_invoice (staff callers), import_statement,
assign_unmatched, revoke_mandate and set_auto_top_up (staff callers),
create_batch (finance.direct_debits.batch_created).
"""
