"""WSGI entry point, for a threaded WSGI server (gunicorn's gthread workers) serving HTTP.

Not the default: `qingquan serve` runs uvicorn on `qingquan.asgi`, which also serves the
websockets (docs/decisions/0010 and 0011). The intake benchmark measures this entry point
beside it (bench/bench_peer.py), and an operator who puts HTTP behind gunicorn and only
`/ws/` behind uvicorn uses it. Each worker process is warmed up as it imports this module,
before it accepts connections.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingquan.settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

if os.environ.get("QINGQUAN_WARM_UP", "1") != "0":
    from qingquan.core.warmup import warm_up

    warm_up()
