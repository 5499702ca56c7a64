"""NotificationsService servicer: proto in, use case, proto out."""

from cartable.notifications.v1 import notifications_pb2 as pb
from cartable.notifications.v1 import notifications_pb2_grpc as pb_grpc
from kit.identity import current
from services.notifications.service import NotificationsService


def _event(e) -> pb.SchoolEvent:
    return pb.SchoolEvent(
        id=e.id,
        title=e.title,
        description=e.description,
        starts_at=e.starts_at.isoformat(),
        ends_at=e.ends_at.isoformat(),
        class_names=list(e.class_names),
    )


class Servicer(pb_grpc.NotificationsServiceServicer):
    def __init__(self, svc: NotificationsService) -> None:
        self.svc = svc

    def ListEvents(self, request, context):
        events = self.svc.list_events(current(), request.student_id, request.limit)
        return pb.ListEventsResponse(events=[_event(e) for e in events])

    def CreateEvent(self, request, context):
        event_id = self.svc.create_event(
            current(), request.title, request.description, request.starts_at, request.ends_at,
            list(request.class_names),
        )
        return pb.CreateEventResponse(id=event_id)
