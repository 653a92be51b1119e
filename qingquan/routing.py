from django.urls import path

from qingquan.core.consumers import StaffEventsConsumer

websocket_urlpatterns = [
    path("ws/events/", StaffEventsConsumer.as_asgi()),
]
