"""Reading a form body (the login form, logout, Twilio's webhooks)."""

from __future__ import annotations

from aiohttp import web


async def form_fields(request: web.Request) -> dict[str, str]:
    """The fields of a url-encoded or multipart form, as text. A body that cannot be
    read as one (multipart without its boundary, an unknown charset) is the client's
    mistake: 400, not an error of ours."""
    try:
        form = await request.post()
    except (ValueError, LookupError) as exc:
        raise web.HTTPBadRequest(text=f"not a readable form: {exc}") from None
    return {key: str(value) for key, value in form.items()}
