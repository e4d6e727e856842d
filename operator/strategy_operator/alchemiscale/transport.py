"""An httpx transport that sends over aiohttp's connection pool.

The client keeps httpx's interface (requests, responses, exceptions), but httpcore's pool
costs about 0.7 ms of CPU per request here against aiohttp's 0.15 ms, and a cold snapshot
of a large network is thousands of small requests. aiohttp is already installed as Kopf's
HTTP stack. Failures are mapped onto httpx's exception types, keeping the distinction the
retry logic depends on: `httpx.ConnectError`/`ConnectTimeout` mean the request was never
sent; anything later means it may have been.

After any 5xx answer or failed request the pool is retired and the next request opens a
fresh connection. alchemiscale's servers (gunicorn + uvicorn) close the connection after a
500 without announcing it (no `Connection: close`), and the close often arrives after the
client has already put the connection back and sent the next request on it: that request
then fails with "connection reset", and a task creation sent there would look like a lost
answer although the server never received it.
"""

from __future__ import annotations

import ssl
import urllib.request

import aiohttp
import httpx

# aiohttp decompresses and frames the body itself; these would make httpx do it again.
_HOP_BY_HOP = frozenset({b"content-encoding", b"content-length", b"transfer-encoding", b"connection"})
_NOT_FORWARDED = frozenset({"host", "content-length", "connection", "transfer-encoding"})


# Below gunicorn's default keep-alive (2 s, which its uvicorn workers use): a connection the
# server is about to close for idleness is not picked for a request at the moment it does.
KEEPALIVE_SECONDS = 1.5


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, verify: ssl.SSLContext | bool, max_connections: int) -> None:
        self._ssl: ssl.SSLContext | bool = verify if isinstance(verify, ssl.SSLContext) else (True if verify else False)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        # Requests in flight per session, and sessions retired after a failure: each is closed
        # once its last request is done, so nothing in flight is cut off.
        self._in_flight: dict[aiohttp.ClientSession, int] = {}
        self._retired: set[aiohttp.ClientSession] = set()
        self.pools_retired = 0
        self._proxies: dict[tuple[str, str, int | None], str | None] = {}

    def _proxy_for(self, url: httpx.URL) -> str | None:
        # HTTP(S)_PROXY / NO_PROXY, looked up once per origin rather than per request
        # (aiohttp's trust_env does it in a worker thread for every request).
        origin = (url.scheme, url.host, url.port)
        if origin not in self._proxies:
            proxies = urllib.request.getproxies()
            proxy = proxies.get(url.scheme)
            if proxy and urllib.request.proxy_bypass(url.host):
                proxy = None
            self._proxies[origin] = proxy or None
        return self._proxies[origin]

    def _session_for_loop(self) -> aiohttp.ClientSession:
        # Created lazily: an aiohttp session belongs to the event loop it was made in.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, ssl=self._ssl, keepalive_timeout=KEEPALIVE_SECONDS
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    def _retire(self, session: aiohttp.ClientSession) -> None:
        if session is self._session:
            self._session = None
            self._retired.add(session)
            self.pools_retired += 1

    async def _done_with(self, session: aiohttp.ClientSession) -> None:
        self._in_flight[session] -= 1
        if not self._in_flight[session]:
            del self._in_flight[session]
            if session in self._retired:
                self._retired.discard(session)
                await session.close()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_for_loop()
        self._in_flight[session] = self._in_flight.get(session, 0) + 1
        try:
            response = await self._send(session, request)
        except BaseException:
            self._retire(session)
            raise
        else:
            if response.status_code >= 500:
                self._retire(session)
            return response
        finally:
            await self._done_with(session)

    async def _send(self, session: aiohttp.ClientSession, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(total=timeouts.get("read"), sock_connect=timeouts.get("connect"))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        body = await request.aread()
        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
                proxy=self._proxy_for(request.url),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            ) as response:
                content = await response.read()
                raw_headers = [(k, v) for k, v in response.raw_headers if k.lower() not in _HOP_BY_HOP]
                return httpx.Response(response.status, headers=raw_headers, content=content, request=request)
        except aiohttp.ClientConnectorCertificateError as exc:
            raise httpx.ConnectError(
                f"TLS certificate verification failed for {request.url.host}: {exc.certificate_error}; "
                "give the server's CA bundle (or disable verification for a test server)",
                request=request,
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(
                f"cannot connect to {request.url.host}:{request.url.port}: {exc.os_error}", request=request
            ) from None
        except aiohttp.ConnectionTimeoutError:
            raise httpx.ConnectTimeout("timed out while connecting", request=request) from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise httpx.ReadTimeout("timed out waiting for the response", request=request) from None
        except aiohttp.ServerDisconnectedError:
            raise httpx.RemoteProtocolError(
                "server disconnected without a complete response", request=request
            ) from None
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from None

    async def aclose(self) -> None:
        sessions = [*self._retired, *([self._session] if self._session is not None else [])]
        self._session = None
        self._retired.clear()
        self._in_flight.clear()
        for session in sessions:
            await session.close()
