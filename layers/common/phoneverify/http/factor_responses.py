"""Response bodies of the stronger factors (docs/factors.md). The QR code is drawn here, at
the edge, from the `otpauth://` URI the flow made (segno: pure Python, only
/account/totp/start's function carries it)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

from phoneverify.http.responses import ResponseModel, TokenResponse

if TYPE_CHECKING:
    from phoneverify.flows.login import SignedIn
    from phoneverify.flows.totp import TotpEnrolled, TotpEnrolmentStarted


class TotpStartedResponse(ResponseModel):
    """The app's secret, shown this once: scan `qr_svg` (or enter `otpauth_uri`), then send
    the app's first code to /account/totp/verify within `timeout_secs`."""

    flow_id: str
    otpauth_uri: str
    qr_svg: str
    timeout_secs: int


class TotpEnrolledResponse(ResponseModel):
    """The app is on the account. Ten one-time recovery codes, shown this once."""

    recovery_codes: list[str]


class LoginVerifiedResponse(TokenResponse):
    """The access token. A login completed by a recovery code is a fresh authentication too:
    `reauth_token` (the `Reauth-Token` of this session, as /account/reauth/verify answers,
    `reauth_expires_in` seconds) lets the person remove the factor they lost at once. Null
    after any other second step."""

    reauth_token: str | None = None
    reauth_expires_in: int | None = None


def login_verified_response(signed_in: SignedIn) -> LoginVerifiedResponse:
    reauth = signed_in.reauth
    return LoginVerifiedResponse(
        token=signed_in.token,
        expires_in=signed_in.expires_in,
        reauth_token=None if reauth is None else reauth.token,
        reauth_expires_in=None if reauth is None else reauth.expires_in,
    )


class TotpRemovedResponse(ResponseModel):
    removed: Literal[True] = True


def qr_svg(uri: str) -> str:
    """`uri` as a QR code, an SVG document (medium error correction, 4 px modules)."""
    import segno

    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", scale=4, xmldecl=False, title="Authenticator app QR code"
    )
    return out.getvalue().decode("utf-8")


def totp_started_response(started: TotpEnrolmentStarted) -> TotpStartedResponse:
    return TotpStartedResponse(
        flow_id=started.flow_id,
        otpauth_uri=started.otpauth_uri,
        qr_svg=qr_svg(started.otpauth_uri),
        timeout_secs=started.timeout_secs,
    )


def totp_enrolled_response(done: TotpEnrolled) -> TotpEnrolledResponse:
    return TotpEnrolledResponse(recovery_codes=list(done.recovery_codes))
