"""MeetingsService servicer: proto in, use case, proto out."""

from cartable.meetings.v1 import meetings_pb2_grpc as pb_grpc
from kit.identity import current
from services.meetings.service import MeetingsService


class Servicer(pb_grpc.MeetingsServiceServicer):
    def __init__(self, svc: MeetingsService) -> None:
        self.svc = svc

    def ListOpenEvenings(self, request, context):
        return self.svc.list_open_evenings(current(), request.student_id)

    def BookSlot(self, request, context):
        return self.svc.book_slot(
            current(),
            request.slot_id,
            request.student_id,
            request.child_name,
            request.parent_name,
            request.idempotency_key,
        )

    def CancelBooking(self, request, context):
        return self.svc.cancel_booking(current(), request.booking_id)

    def ListMyBookings(self, request, context):
        return self.svc.my_bookings(current(), request.student_id)

    def CreateEvening(self, request, context):
        return self.svc.create_evening(current(), request)

    def ListEvenings(self, request, context):
        return self.svc.list_evenings(current())

    def GetSchedule(self, request, context):
        return self.svc.schedule(current(), request.evening_id, request.teacher_id)
