"""Web page: the school's audit log (/gestion/journal), the staff actions on money, settings, people
and permissions, newest first, 50 a page with a link to the older ones (auth's cursor, no script).
Each action is said as a sentence in the reader's language ("a changé l'IBAN"); an action this page
does not know yet (a service records a new one) shows its code. The same call as ``GET
/api/v1/admin/audit`` (``gateway.calls.audit``).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cartable.auth.v1 import auth_pb2
from gateway.calls.audit import DEFAULT_LIMIT, list_audit_entries
from gateway.i18n import current_lang
from gateway.pages.account import login_required
from gateway.web import require_staff
from kit.dates import format_instant
from kit.errors import InvalidRequest

bp = Blueprint("audit", __name__)

# What each recorded action (``<service>.<object>.<verb>``, kit.audit.record in services/) says after
# the actor's name. A new action shows its code until it is named here.
ACTIONS = {
    "auth.account.disabled": _l("a désactivé un compte"),
    "auth.class.moved": _l("a fait passer les élèves d'une classe dans une autre"),
    "auth.account.enabled": _l("a réactivé un compte"),
    "auth.connection_token.issued": _l("a envoyé un jeton de connexion"),
    "auth.parent.children_linked": _l("a lié des enfants à un parent"),
    "auth.parent.created": _l("a ajouté un parent"),
    "auth.parent.updated": _l("a modifié un parent"),
    "auth.people.imported": _l("a importé des élèves et des parents"),
    "auth.second_factor.reset": _l("a réinitialisé la validation en deux étapes d'un compte"),
    "auth.security_settings.updated": _l("a changé la sécurité de connexion de l'école"),
    "auth.sessions.ended": _l("a fermé les connexions d'un compte"),
    "auth.staff.created": _l("a ajouté un membre du personnel"),
    "auth.student.created": _l("a ajouté un élève"),
    "auth.student.left": _l("a indiqué qu'un élève a quitté l'école"),
    "auth.student.updated": _l("a modifié un élève"),
    "documents.album.offered": _l("a mis un album en vente"),
    "documents.album.published": _l("a publié un album"),
    "documents.album.withdrawn": _l("a retiré un album"),
    "documents.document.deposited": _l("a déposé un document"),
    "documents.photo.withdrawn": _l("a retiré une photo"),
    "finance.credit_note.issued": _l("a émis une note de crédit"),
    "finance.invoice.created": _l("a émis une facture"),
    "finance.invoice.paid_from_wallet": _l("a payé une facture avec un portefeuille"),
    "finance.sale.recorded": _l("a enregistré une vente"),
    "finance.settings.iban_changed": _l("a changé l'IBAN"),
    "finance.settings.updated": _l("a modifié les paramètres financiers"),
    "finance.statement.imported": _l("a importé un extrait bancaire"),
    "finance.top_up.recorded": _l("a enregistré un rechargement"),
    "finance.unmatched_transfer.assigned": _l("a attribué un virement"),
    "finance.wallet_type.created": _l("a créé un type de portefeuille"),
    "meetings.evening.created": _l("a ouvert une réunion de parents"),
    "notifications.event.created": _l("a publié un évènement"),
    "notifications.event.deleted": _l("a supprimé un évènement"),
    "notifications.event.updated": _l("a modifié un évènement"),
    "orders.book_return.recorded": _l("a enregistré un retour de livres"),
    "orders.item.added": _l("a ajouté un article à une période de commande"),
    "orders.items.withdrawn": _l("a retiré des articles d'une période de commande"),
    "orders.period.created": _l("a créé une période de commande"),
}

# What was acted on (``object_type``); an unknown type shows as recorded.
OBJECTS = {
    "account": _l("Compte"),
    "album": _l("Album"),
    "class": _l("Classe"),
    "document": _l("Document"),
    "evening": _l("Réunion de parents"),
    "import": _l("Importation"),
    "invoice": _l("Facture"),
    "order_item": _l("Article"),
    "order_items": _l("Articles"),
    "order_period": _l("Période de commande"),
    "photo": _l("Photo"),
    "sale": _l("Vente"),
    "school": _l("École"),
    "school_event": _l("Évènement"),
    "school_settings": _l("Paramètres de l'école"),
    "statement_import": _l("Extrait bancaire"),
    "student": _l("Élève"),
    "unmatched_transfer": _l("Virement"),
    "wallet": _l("Portefeuille"),
    "wallet_type": _l("Type de portefeuille"),
}


def action_label(action: str) -> str:
    """The sentence for ``action`` in the reader's language, or the action's code."""
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


def object_label(object_type: str) -> str:
    label = OBJECTS.get(object_type)
    return str(label) if label is not None else object_type


# Objects that are the school itself: their id (the school's) says nothing to its staff.
SCHOOL_OBJECTS = frozenset({"school", "school_settings"})


def _when(at: str) -> str:
    """``at`` (RFC 3339) on the school's clock in the reader's language; as given if unreadable."""
    try:
        instant = datetime.fromisoformat(at)
    except (TypeError, ValueError):
        return at
    if instant.tzinfo is None:
        return at
    return format_instant(instant, current_lang())


def _row(e: auth_pb2.AuditEntry) -> dict[str, str]:
    if e.actor_name:
        who = e.actor_name
    elif not e.actor_id:
        who = _("Système (commande d'exploitation)")
    else:
        who = _("Compte inconnu")
    return {
        "at": e.at,
        "when": _when(e.at),
        "who": who,
        "what": action_label(e.action),
        "action": e.action,
        "object": object_label(e.object_type),
        "object_id": "" if e.object_type in SCHOOL_OBJECTS else e.object_id,
        "detail": e.detail,
    }


@bp.get("/gestion/journal")
@login_required
def journal():
    require_staff()
    cursor = request.args.get("cursor", "")
    try:
        page = list_audit_entries(DEFAULT_LIMIT, cursor)
    except InvalidRequest:
        if not cursor:
            raise
        flash(_("Ce lien ne mène plus à une page du journal : voici les actions les plus récentes."), "error")
        return redirect(url_for("audit.journal"), code=303)
    return render_template(
        "audit/journal.html",
        rows=[_row(e) for e in page.entries],
        next_cursor=page.next_cursor,
        older=bool(cursor),
    )
