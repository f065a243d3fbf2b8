"""Telnyx Verify v2 client over httpx.

One instance per execution environment (the connection pool survives warm invocations).
Telnyx's error envelope `{"errors": [{code, title, detail}]}` becomes a typed `TelnyxError`.
Nothing here logs a code, and phone numbers appear in logs masked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx
from aws_lambda_powertools import Logger

from phoneverify.domain.phones import mask_phone
from phoneverify.tracing import patch_http_client

logger = Logger(child=True)

ResponseCode = Literal["accepted", "rejected"]


@dataclass(frozen=True)
class TelnyxErrorDetail:
    code: str
    title: str
    detail: str


class TelnyxError(Exception):
    """Telnyx answered with an error, or could not be reached."""

    def __init__(self, status: int | None, errors: list[TelnyxErrorDetail], reason: str) -> None:
        self.status = status
        self.errors = errors
        super().__init__(reason)

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors]


class TelnyxAuthenticationError(TelnyxError):
    """401/403: the API key is wrong or lacks permission."""


class TelnyxNotFound(TelnyxError):
    """404: unknown verification or verify profile."""


class TelnyxInvalidRequest(TelnyxError):
    """400/422: Telnyx refused the request's content (e.g. an invalid phone number)."""


class TelnyxRateLimited(TelnyxError):
    """429: Telnyx is throttling this account."""


class TelnyxServerError(TelnyxError):
    """5xx from Telnyx."""


class TelnyxUnavailable(TelnyxError):
    """Timeout, connection failure or a response that is not Telnyx's JSON."""


# Telnyx Verify's trigger endpoints, by channel: POST /v2/verifications/<path>.
TriggerPath = Literal["sms", "call", "whatsapp"]


@dataclass(frozen=True)
class Verification:
    id: str
    phone_number: str
    status: str
    verify_profile_id: str | None
    timeout_secs: int | None
    type: str = "sms"  # sms | call | flashcall | whatsapp


@dataclass(frozen=True)
class VerifyResult:
    phone_number: str
    response_code: str

    @property
    def accepted(self) -> bool:
        return self.response_code == "accepted"


def _error_class(status: int) -> type[TelnyxError]:
    if status in (401, 403):
        return TelnyxAuthenticationError
    if status == 404:
        return TelnyxNotFound
    if status == 429:
        return TelnyxRateLimited
    if status >= 500:
        return TelnyxServerError
    return TelnyxInvalidRequest


def _parse_errors(response: httpx.Response) -> list[TelnyxErrorDetail]:
    try:
        payload = response.json()
        raw = payload.get("errors", []) if isinstance(payload, dict) else []
    except ValueError:
        raw = []
    return [
        TelnyxErrorDetail(
            code=str(item.get("code", "")),
            title=str(item.get("title", "")),
            detail=str(item.get("detail", "")),
        )
        for item in raw
        if isinstance(item, dict)
    ]


class TelnyxVerifyClient:
    """Calls the Verify endpoints the flows need: a trigger per channel, the checks, and
    retrieve."""

    def __init__(
        self,
        base_url: str,
        api_key: Callable[[], str],
        *,
        timeout_secs: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._api_key = api_key
        patch_http_client()  # each call a subsegment of the trace (phoneverify/tracing.py)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/v2",
            timeout=httpx.Timeout(timeout_secs, connect=min(timeout_secs, 3.0)),
            headers={"Accept": "application/json", "User-Agent": "phone-verify/0.1"},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def credentials(self) -> None:
        """Read the API key as a call would (SsmSecrets caches it), calling nothing."""
        self._api_key()

    def trigger_sms(
        self, phone_number: str, verify_profile_id: str, *, timeout_secs: int | None = None
    ) -> Verification:
        """POST /v2/verifications/sms."""
        return self.trigger("sms", phone_number, verify_profile_id, timeout_secs=timeout_secs)

    def trigger_call(
        self, phone_number: str, verify_profile_id: str, *, timeout_secs: int | None = None
    ) -> Verification:
        """POST /v2/verifications/call: a voice call reads the code out (the SDK's
        `verifications.trigger_call`)."""
        return self.trigger("call", phone_number, verify_profile_id, timeout_secs=timeout_secs)

    def trigger_whatsapp(
        self, phone_number: str, verify_profile_id: str, *, timeout_secs: int | None = None
    ) -> Verification:
        """POST /v2/verifications/whatsapp (the SDK's
        `verifications.trigger_whatsapp_verification`)."""
        return self.trigger("whatsapp", phone_number, verify_profile_id, timeout_secs=timeout_secs)

    def trigger(
        self,
        path: TriggerPath,
        phone_number: str,
        verify_profile_id: str,
        *,
        timeout_secs: int | None = None,
    ) -> Verification:
        """Start a verification delivered by `path`'s channel; the three endpoints take the
        same body and answer the same record."""
        body: dict[str, Any] = {
            "phone_number": phone_number,
            "verify_profile_id": verify_profile_id,
        }
        if timeout_secs is not None:
            body["timeout_secs"] = timeout_secs
        data = self._call("POST", f"/verifications/{path}", body, phone_number)
        return self._verification(data)

    def verify_by_id(self, verification_id: str, code: str) -> VerifyResult:
        path = f"/verifications/{quote(verification_id, safe='')}/actions/verify"
        return self._verify_result(self._call("POST", path, {"code": code}, None))

    def verify_by_phone_number(
        self, phone_number: str, code: str, verify_profile_id: str
    ) -> VerifyResult:
        path = f"/verifications/by_phone_number/{quote(phone_number, safe='')}/actions/verify"
        body = {"code": code, "verify_profile_id": verify_profile_id}
        return self._verify_result(self._call("POST", path, body, phone_number))

    def retrieve(self, verification_id: str) -> Verification:
        path = f"/verifications/{quote(verification_id, safe='')}"
        return self._verification(self._call("GET", path, None, None))

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        phone_number: str | None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        operation = path.rsplit("/", 1)[-1] if "actions" in path else path.split("/")[1]
        try:
            response = self._http.request(
                method,
                path,
                json=body,
                headers={**(headers or {}), "Authorization": f"Bearer {self._api_key()}"},
            )
        except httpx.TimeoutException as exc:
            logger.warning("telnyx timeout", extra={"operation": operation})
            raise TelnyxUnavailable(None, [], f"timeout calling Telnyx {operation}") from exc
        except httpx.HTTPError as exc:
            logger.warning("telnyx unreachable", extra={"operation": operation})
            raise TelnyxUnavailable(None, [], f"cannot reach Telnyx: {type(exc).__name__}") from exc

        if response.is_success:
            try:
                payload = response.json()
            except ValueError as exc:
                raise TelnyxUnavailable(response.status_code, [], "Telnyx sent non-JSON") from exc
            data = payload.get("data") if isinstance(payload, dict) else None
            if not isinstance(data, dict):
                raise TelnyxUnavailable(response.status_code, [], "Telnyx response has no data")
            return data

        errors = _parse_errors(response)
        logger.warning(
            "telnyx error",
            extra={
                "operation": operation,
                "status": response.status_code,
                "telnyx_codes": [e.code for e in errors],
                "phone": mask_phone(phone_number) if phone_number else None,
            },
        )
        cls = _error_class(response.status_code)
        titles = "; ".join(e.title or e.code for e in errors) or response.reason_phrase
        raise cls(response.status_code, errors, f"Telnyx {response.status_code}: {titles}")

    @staticmethod
    def _verification(data: dict[str, Any]) -> Verification:
        try:
            return Verification(
                id=str(data["id"]),
                phone_number=str(data.get("phone_number", "")),
                status=str(data.get("status", "")),
                verify_profile_id=data.get("verify_profile_id"),
                timeout_secs=data.get("timeout_secs"),
                type=str(data.get("type") or "sms"),
            )
        except KeyError as exc:
            raise TelnyxUnavailable(200, [], "Telnyx verification has no id") from exc

    @staticmethod
    def _verify_result(data: dict[str, Any]) -> VerifyResult:
        code = data.get("response_code")
        if code not in ("accepted", "rejected"):
            raise TelnyxUnavailable(200, [], "Telnyx verify response has no response_code")
        return VerifyResult(phone_number=str(data.get("phone_number", "")), response_code=code)
