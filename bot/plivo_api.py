"""A small client of Plivo's REST API for live calls, over the app's shared ``aiohttp`` session.

Only what the bot needs while a call is on: handing the caller (the A leg) to new XML, which is
how a call is transferred to the restaurant's staff. The hang-up lives in
:class:`~bot.plivo_call_serializer.PlivoCallSerializer`, which sends it when the pipeline ends.

Requests use HTTP Basic auth with the account's auth id and token and a time limit; a failure is
logged (status and a short, scrubbed body; never the credentials) and reported as ``False``,
never raised.
"""

from __future__ import annotations

import aiohttp
from loguru import logger

from bot.config import Settings
from bot.plivo_call_serializer import DEFAULT_API_URL

TRANSFER_ACCEPTED = 202
"""Plivo's answer to an accepted transfer."""


class PlivoApi:
    """Plivo's call resource for one account: ``{api_url}/v1/Account/{auth_id}/Call/...``.

    Args:
        session: The app's shared HTTP session.
        auth_id: The account's auth id.
        auth_token: The account's auth token.
        api_url: Base URL of the REST API, without a trailing path.
        timeout_secs: Time limit of each request.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        auth_id: str,
        auth_token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout_secs: float = 5.0,
    ) -> None:
        self._session = session
        self._auth_id = auth_id
        self._auth = aiohttp.BasicAuth(auth_id, auth_token)
        self._api_url = api_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)

    @classmethod
    def from_settings(cls, settings: Settings, session: aiohttp.ClientSession) -> PlivoApi | None:
        """The client for the configured account, or ``None`` without Plivo credentials."""
        auth_id, token = settings.plivo_auth_id, settings.plivo_auth_token
        if auth_id is None or token is None:
            return None
        return cls(
            session,
            auth_id.get_secret_value(),
            token.get_secret_value(),
            api_url=settings.plivo_api_url,
        )

    def call_url(self, call_uuid: str) -> str:
        """The REST resource of a live call."""
        return f"{self._api_url}/v1/Account/{self._auth_id}/Call/{call_uuid}/"

    async def transfer(self, call_uuid: str, aleg_url: str) -> bool:
        """Move the caller's leg to the XML at ``aleg_url`` (Plivo fetches it with a POST).

        Args:
            call_uuid: The live call.
            aleg_url: Where Plivo fetches the new XML for the caller's leg.

        Returns:
            Whether Plivo accepted the transfer (HTTP 202).
        """
        log = logger.bind(call=call_uuid)
        body = {"legs": "aleg", "aleg_url": aleg_url, "aleg_method": "POST"}
        try:
            async with self._session.post(
                self.call_url(call_uuid), json=body, auth=self._auth, timeout=self._timeout
            ) as response:
                if response.status == TRANSFER_ACCEPTED:
                    log.info("Plivo accepted the transfer")
                    return True
                text = (await response.text())[:200].replace(self._auth_id, "***")
                log.error("Plivo refused the transfer: HTTP {} {!r}", response.status, text)
        except Exception as exc:
            log.error("Plivo transfer request failed: {}", type(exc).__name__)
        return False
