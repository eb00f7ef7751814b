"""Files into a channel or thread with the Web API's current upload flow (slack_sdk `files_upload_v2`:
files.getUploadURLExternal → POST the bytes to the returned URL → files.completeUploadExternal).

Kept apart from webapi.SlackWebApi so every feature that uploads (charts, long output) shares one path;
errors are translated like every other Web API call (webapi._translate), so no slack_sdk type leaks.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import errors, metrics
from bot.actions.registry import Attachment
from bot.slack.webapi import SlackWebApi, _call_status, _translate

METHOD = "files.completeUploadExternal"


async def upload_files(
    slack: SlackWebApi, channel: str, files: Sequence[Attachment], *, thread_ts: str | None = None
) -> None:
    """Share `files` in `channel` (in the thread of `thread_ts` when given), one upload call for all."""
    if not files:
        return
    uploads = [{"filename": f.filename, "title": errors.plain(f.title), "content": f.content} for f in files]
    try:
        await slack.client.files_upload_v2(file_uploads=uploads, channel=channel, thread_ts=thread_ts)
    except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        metrics.SLACK_API_CALLS.labels(method=METHOD, status=_call_status(exc)).inc()
        raise _translate(METHOD, exc) from exc
    metrics.SLACK_API_CALLS.labels(method=METHOD, status="ok").inc()
