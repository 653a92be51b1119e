"""ASGI entry point: Django over HTTP, Channels for websockets (push to browsers)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingquan.settings")

from qingquan.core.asgi_handler import one_hop_asgi_application

# Django with its middleware chain run in one hop per request (docs/decisions/0007).
django_asgi_app = one_hop_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from qingquan.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

if os.environ.get("QINGQUAN_WARM_UP", "1") != "0":
    # Each web process is warmed up as it imports this module, before uvicorn lets it
    # accept connections (decision 0010).
    from qingquan.core.warmup import warm_up

    warm_up()
