"""NotificationsService servicer: proto in, use case, proto out."""

from cartable.notifications.v1 import notifications_pb2 as pb
from cartable.notifications.v1 import notifications_pb2_grpc as pb_grpc
from kit.identity import current
from services.notifications.domain.mail import Preferences
from services.notifications.service import MailPreferencesView, NotificationsService


def _event(e) -> pb.SchoolEvent:
    return pb.SchoolEvent(
        id=e.id,
        title=e.title,
        description=e.description,
        starts_at=e.starts_at.isoformat(),
        ends_at=e.ends_at.isoformat(),
        class_names=list(e.class_names),
    )


def _preferences(view: MailPreferencesView) -> pb.MailPreferences:
    p = view.preferences
    return pb.MailPreferences(
        language=p.language or "",
        documents=p.documents,
        invoices=p.invoices,
        payments=p.payments,
        orders=p.orders,
        meetings=p.meetings,
        low_balance_threshold_cents=p.low_balance_threshold_cents,
        email=view.email,
    )


def _failed(m) -> pb.FailedMail:
    return pb.FailedMail(
        id=m.id,
        kind=m.kind,
        recipient=m.recipient,
        account_id=m.account_id,
        student_id=m.student_id,
        subject=m.subject,
        attempts=m.attempts,
        last_error=m.last_error,
        created_at=m.created_at.isoformat(),
        failed_at=m.failed_at.isoformat(),
        retryable=m.retryable,
    )


class Servicer(pb_grpc.NotificationsServiceServicer):
    def __init__(self, svc: NotificationsService) -> None:
        self.svc = svc

    def ListEvents(self, request, context):
        events = self.svc.list_events(current(), request.student_id, request.limit)
        return pb.ListEventsResponse(events=[_event(e) for e in events])

    def CreateEvent(self, request, context):
        event_id = self.svc.create_event(
            current(),
            request.title,
            request.description,
            request.starts_at,
            request.ends_at,
            list(request.class_names),
        )
        return pb.CreateEventResponse(id=event_id)

    def GetMailPreferences(self, request, context):
        return pb.GetMailPreferencesResponse(
            preferences=_preferences(self.svc.get_mail_preferences(current()))
        )

    def UpdateMailPreferences(self, request, context):
        p = request.preferences
        prefs = Preferences(
            language=p.language or None,
            documents=p.documents,
            invoices=p.invoices,
            payments=p.payments,
            orders=p.orders,
            meetings=p.meetings,
            low_balance_threshold_cents=p.low_balance_threshold_cents,
        )
        # A client that predates the field does not turn meeting mails off by leaving it out.
        keep = () if p.HasField("meetings") else ("meetings",)
        view = self.svc.update_mail_preferences(current(), prefs, keep=keep)
        return pb.UpdateMailPreferencesResponse(preferences=_preferences(view))

    def ListFailedMails(self, request, context):
        mails, next_cursor = self.svc.list_failed_mails(current(), request.limit, request.cursor)
        return pb.ListFailedMailsResponse(mails=[_failed(m) for m in mails], next_cursor=next_cursor)

    def RetryFailedMail(self, request, context):
        self.svc.retry_failed_mail(current(), request.mail_id)
        return pb.RetryFailedMailResponse()
