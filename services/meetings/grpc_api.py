"""MeetingsService servicer: proto in, use case, proto out."""

from __future__ import annotations

from cartable.meetings.v1 import meetings_pb2_grpc as pb_grpc
from kit.identity import current
from services.meetings.use_cases import UseCases


class Servicer(pb_grpc.MeetingsServiceServicer):
    def __init__(self, uc: UseCases) -> None:
        self.evenings = uc.evenings
        self.booking = uc.booking

    def ListOpenEvenings(self, request, context):
        return self.booking.list_open_evenings(current(), request.student_id)

    def BookSlot(self, request, context):
        return self.booking.book_slot(
            current(),
            request.slot_id,
            request.student_id,
            request.child_name,
            request.parent_name,
            request.idempotency_key,
        )

    def CancelBooking(self, request, context):
        return self.booking.cancel_booking(current(), request.booking_id)

    def ListMyBookings(self, request, context):
        return self.booking.my_bookings(current(), request.student_id)

    def CreateEvening(self, request, context):
        return self.evenings.create_evening(current(), request)

    def ListEvenings(self, request, context):
        return self.evenings.list_evenings(current())

    def GetSchedule(self, request, context):
        return self.evenings.schedule(current(), request.evening_id, request.teacher_id)
