"""WeChat's web OAuth (网页授权, snsapi_base) for pages opened inside WeChat: the page
sends the browser to WeChat with a state, WeChat sends it back with a code, and the
code is exchanged (`sns/oauth2/access_token`, with the official account's app id and
secret) for the user's openid, which a JSAPI payment needs. The endpoints are the
messaging settings' (`WECHAT_OAUTH_URL`, `WECHAT_ENDPOINT`): the fake WeChat server in
the demo and the tests."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from qingquan.messaging.rules import conf
from qingquan.portal import rules
from qingquan.portal.services import PortalError

OPENID_COOKIE = "qq_wx_openid"
STATE_COOKIE = "qq_wx_state"
OPENID_AGE = 30 * 86400


def in_wechat(request: HttpRequest) -> bool:
    """True when the page is opened in WeChat's own browser."""
    return "MicroMessenger" in request.headers.get("User-Agent", "")


def authorize_url(*, redirect_uri: str, state: str) -> str:
    """Where to send the browser: WeChat's OAuth page, silent scope (snsapi_base)."""
    base = str(conf("WECHAT_OAUTH_URL", "https://open.weixin.qq.com/connect/oauth2/authorize"))
    query = urlencode(
        {
            "appid": str(conf("WECHAT_APP_ID", "")),
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    return f"{base}?{query}#wechat_redirect"


def openid_for_code(code: str) -> str:
    """The openid of the WeChat user a code was given for (once; PortalError if WeChat
    refuses the code or does not answer)."""
    endpoint = str(conf("WECHAT_ENDPOINT", "https://api.weixin.qq.com/")).rstrip("/")
    if not code or len(code) > 128:
        raise PortalError(_("WeChat did not say who you are. Open the page again."))
    try:
        answer = httpx.get(
            f"{endpoint}/sns/oauth2/access_token",
            params={
                "appid": str(conf("WECHAT_APP_ID", "")),
                "secret": str(conf("WECHAT_APP_SECRET", "")),
                "code": code,
                "grant_type": "authorization_code",
            },
            timeout=10,
        ).json()
    except (httpx.HTTPError, ValueError):
        raise PortalError(_("WeChat does not answer just now. Try again shortly.")) from None
    openid = str(answer.get("openid") or "") if isinstance(answer, dict) else ""
    if not openid:
        raise PortalError(_("WeChat did not say who you are. Open the page again."))
    return openid


def _salt(resident_pk: int) -> str:
    return f"portal.wx-openid.{resident_pk}"


def openid_of(request: HttpRequest, resident_pk: int) -> str:
    """The openid remembered for this resident in this browser ("" if none): a signed
    cookie bound to the resident, so it is no one else's."""
    try:
        return str(
            signing.get_cookie_signer(salt=_salt(resident_pk)).unsign(
                request.COOKIES.get(OPENID_COOKIE, ""), max_age=OPENID_AGE
            )
        )
    except signing.BadSignature:
        return ""


def remember_openid(response: HttpResponse, resident_pk: int, openid: str, *, secure: bool) -> None:
    value = signing.get_cookie_signer(salt=_salt(resident_pk)).sign(openid)
    response.set_cookie(
        OPENID_COOKIE,
        value,
        max_age=OPENID_AGE,
        path=rules.COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="Lax",
    )
