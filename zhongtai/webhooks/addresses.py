"""Which callback addresses the platform will call (回调地址校验).

An address must be an absolute ``https://`` URL (``http://`` only when ``DEBUG`` or
``EREC_WEBHOOK_ALLOW_HTTP``), without user name or password and without a fragment. Unless
``EREC_WEBHOOK_ALLOW_PRIVATE``, its host must resolve, and only to public addresses: the
platform's workers sit inside the government network, and a callback must not become a way
to reach its internal services (loopback, private, link-local, reserved ranges).

The host is checked again before every call (its DNS may have changed since registration).
The address the connection then resolves could in principle differ from the one checked;
the window is a DNS lookup wide, and the outbound firewall remains the last line.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from zhongtai.core.errors import ApplicationError
from zhongtai.webhooks.errors import WebhookError

URL_MAX_LENGTH = 500


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(WebhookError.WEBHOOK_URL_INVALID, message, {"field": "url"}, status=422)


def webhook_url_check(url: object) -> str:
    """The callback address, normalised; ``WEBHOOK_URL_INVALID`` (422) with the reason otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise _refuse("请填写回调地址。")
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise _refuse(f"回调地址不能超过 {URL_MAX_LENGTH} 个字符。")
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        raise _refuse("回调地址不能包含空白或控制字符。")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refuse("回调地址格式不正确。") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise _refuse("回调地址须以 https:// 开头。")
    if scheme == "http" and not (settings.DEBUG or settings.EREC_WEBHOOK_ALLOW_HTTP):
        raise _refuse("回调地址须使用 https://，不接受 http://。")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _refuse("回调地址不能包含用户名或密码。")
    if not parts.hostname:
        raise _refuse("回调地址缺少主机名。")
    if parts.fragment:
        raise _refuse("回调地址不能包含 # 片段。")
    if not settings.EREC_WEBHOOK_ALLOW_PRIVATE:
        problem = host_problem(parts.hostname, port or (443 if scheme == "https" else 80))
        if problem:
            raise _refuse(problem)
    return SplitResult(scheme, parts.netloc, parts.path or "/", parts.query, "").geturl()


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def host_problem(host: str, port: int) -> str | None:
    """Why the platform will not call ``host`` (private or unresolvable); None if it will."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return "回调地址的域名无法解析。"
    addresses = {info[4][0] for info in infos}
    if not addresses:
        return "回调地址的域名无法解析。"
    if not all(_public(address) for address in addresses):
        return "回调地址指向内网、本机或保留地址，不能使用。"
    return None
