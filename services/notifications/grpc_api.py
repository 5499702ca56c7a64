"""NotificationsService servicer: proto in, use case, proto out."""

from cartable.notifications.v1 import notifications_pb2_grpc as pb_grpc
from kit.identity import current
from services.notifications.use_cases import UseCases


class Servicer(pb_grpc.NotificationsServiceServicer):
    def __init__(self, uc: UseCases) -> None:
        self.school_events = uc.school_events
        self.mails = uc.mails
        self.reminders = uc.reminders

    def ListEvents(self, request, context):
        return self.school_events.list_events(current(), request.student_id, request.limit)

    def CreateEvent(self, request, context):
        return self.school_events.create_event(current(), request)

    def ListSchoolEvents(self, request, context):
        return self.school_events.list_school_events(current(), request)

    def GetEvent(self, request, context):
        return self.school_events.get_event(current(), request.event_id)

    def UpdateEvent(self, request, context):
        return self.school_events.update_event(current(), request)

    def DeleteEvent(self, request, context):
        return self.school_events.delete_event(current(), request.event_id)

    def GetMailPreferences(self, request, context):
        return self.mails.get_mail_preferences(current())

    def UpdateMailPreferences(self, request, context):
        return self.mails.update_mail_preferences(current(), request)

    def ListFailedMails(self, request, context):
        return self.mails.list_failed_mails(current(), request.limit, request.cursor)

    def RetryFailedMail(self, request, context):
        return self.mails.retry_failed_mail(current(), request.mail_id)

    def UpdateReminderSettings(self, request, context):
        return self.reminders.update_reminder_settings(current(), request)

    def GetReminderSettings(self, request, context):
        return self.reminders.get_reminder_settings(current())

    def SendInvoiceReminder(self, request, context):
        return self.reminders.send_invoice_reminder(current(), request.invoice_id)

    def CountInvoiceReminders(self, request, context):
        return self.reminders.count_invoice_reminders(current(), list(request.invoice_ids))
