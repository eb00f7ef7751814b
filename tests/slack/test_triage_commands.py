"""Issue 21's Kubernetes reads over signed HTTP: events, describe, nodes, hpa, rollout-status, endpoints
and logs answer at once with what the sandbox cluster holds; long logs arrive as a file in the thread."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from bot.app import BotProcess
from bot.catalog import Catalog
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import Message, SlackFake
from sandbox.slack_fake_records import UploadedFile
from tests.flows import ephemeral_text

OPS = "C0OPS"
DASHBOARD_NS = "production"


@pytest.fixture(autouse=True)
async def triage_world(
    cluster: SandboxCluster, catalog: Catalog, slack: SlackFake, bot: BotProcess
) -> AsyncIterator[None]:
    cluster.seed_triage(catalog)
    yield
    # A test ends when Slack has the answer; the listener that sent it finishes an instant later.
    listeners = [t for t in asyncio.all_tasks() if "run_ack_function" in repr(t.get_coro())]
    if listeners:
        await asyncio.wait(listeners, timeout=10)


async def answer(slack: SlackFake, needle: str) -> Message:
    """The bot's top-level message in #ops that contains `needle`."""
    return await slack.wait_for(
        lambda: next((m for m in slack.messages(OPS) if not m.is_reply and needle in m.text + str(m.blocks)), None),
        timeout=15,
    )


def shown(message: Message) -> str:
    return str(message.blocks)


def crashing_pod(cluster: SandboxCluster) -> str:
    return next(
        p["metadata"]["name"]
        for p in cluster.pods(DASHBOARD_NS)
        if p["metadata"]["labels"].get("app") == "email-dashboard"
        and p["status"]["containerStatuses"][0]["restartCount"]
    )


async def test_events_list_the_crash_looping_pods_warnings_before_normal_events(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("events email-dashboard")
    message = await answer(slack, "warnings first")

    table = shown(message)
    assert "BackOff" in table and crashing_pod(cluster) in table
    rows = [r for r in re.split(r"\\n|\n", table) if re.match(r"^\S+\s+(Warning|Normal)\s", r)]
    kinds = [r.split()[1] for r in rows]
    assert kinds[: kinds.count("Warning")] == ["Warning"] * kinds.count("Warning") and "Normal" in kinds
    assert "ScalingReplicaSet" in table and "SuccessfulCreate" in table  # the deployment's and ReplicaSet's too


async def test_describe_shows_the_oom_killed_last_state_and_crash_loop_of_the_failing_pod(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    pod = crashing_pod(cluster)
    await alice.slash_command(f"describe email-dashboard {pod}")
    message = await answer(slack, "not ready or restarting")

    text = shown(message)
    assert f"{pod} CrashLoopBackOff" in text
    assert "Waiting (CrashLoopBackOff)" in text
    assert "Last state: Terminated (OOMKilled), exit code 137" in text
    assert "Restarts: 7" in text and "Readiness probe failed" in text


async def test_describe_of_a_pod_of_another_service_is_refused(alice: SlackUser, slack: SlackFake) -> None:
    await alice.slash_command("describe email-dashboard mail-score-backend-abc")
    assert "is not a pod of this service" in await ephemeral_text(slack, "U0ALICE", "is not a pod")


async def test_nodes_hpa_endpoints_and_rollout_status_answer_with_the_clusters_state(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("nodes")
    nodes = await answer(slack, "ready without pressure")
    assert "3 nodes, 3 ready" in nodes.text and "sandbox-node-2" in shown(nodes)

    await alice.slash_command("hpa backend")
    hpa = await answer(slack, "HPA backend-hpa")
    replicas = cluster.deployment("mail-score-production", "mail-score-backend")["spec"]["replicas"]
    assert f"{replicas} current, {replicas} desired, min 1, max 20" in hpa.text
    assert "cpu: 64% (target 70%)" in shown(hpa)

    await alice.slash_command("endpoints email-dashboard")
    endpoints = await answer(slack, "endpoints ready")
    assert "1 service, 2/3 endpoints ready" in endpoints.text
    assert "(not ready)" in shown(endpoints) and "dashboard.example.com" in shown(endpoints)

    await alice.slash_command("rollout-status backend")
    status = await answer(slack, "successfully rolled out")
    assert 'deployment "mail-score-backend" successfully rolled out' in status.text


def upload_in_thread(slack: SlackFake, thread_ts: str) -> UploadedFile | None:
    return next((f for f in slack.files.values() if f.completed and f.thread_ts == thread_ts), None)


async def test_logs_longer_than_a_message_are_uploaded_whole_in_the_thread(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("logs email-dashboard 300")
    message = await answer(slack, "merged by time")
    uploaded = await slack.wait_for(lambda: upload_in_thread(slack, message.ts), timeout=15)

    assert "more lines in the attached file logs.txt" in shown(message)
    lines = (uploaded.content or b"").decode().splitlines()
    assert len(lines) == 300 and uploaded.filename == "logs.txt"
    pods = {p["metadata"]["name"] for p in cluster.pods(DASHBOARD_NS)}
    labels = {re.search(r"\[(\S+)\s*\]", line)[1] for line in lines}  # type: ignore[index]
    assert labels == pods  # every pod of the service, each line labelled
    stamps = [line.split(" ", 1)[0] for line in lines]
    assert stamps == sorted(stamps)  # merged by timestamp
    flow = [c.method for c in slack.calls if c.method.startswith("files.")]
    assert flow == ["files.getUploadURLExternal", "files.upload_url", "files.completeUploadExternal"]
    assert slack.thread_replies(OPS, message.ts)[0].files == [uploaded.id]  # shared in the thread


async def test_logs_grep_keeps_only_matching_lines_of_every_pod(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command('logs email-dashboard 10 --grep "ERROR upstream"')
    message = await answer(slack, "lines matching")

    rows = [r for r in shown(message).split("\\n") if "request_id=" in r]
    assert len(rows) == 10 and all("ERROR upstream timeout" in r for r in rows)
    assert not slack.calls_to("files.getUploadURLExternal")  # it fits: nothing to attach


async def test_a_regex_that_could_backtrack_for_ever_is_refused_before_any_read(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    cluster.clear()
    await alice.slash_command('logs backend --grep "(a+)+$"')

    text = await ephemeral_text(slack, "U0ALICE", "--grep pattern refused")
    assert "repeated group" in text and "Usage" in text
    assert not cluster.requests_to("/log") and not cluster.requests_to("/pods")


async def test_previous_logs_show_why_the_crash_looping_container_died(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    await alice.slash_command("logs email-dashboard 5 --grep heap --previous")
    message = await answer(slack, "lines matching heap")

    assert "from 1 pods" in message.text  # only the container that restarted has a previous one
    assert "JavaScript heap out of memory" in shown(message)
    assert f"[{crashing_pod(cluster)}]" in shown(message)


async def test_where_the_bot_is_not_a_member_the_answer_comes_by_response_url_and_says_the_file_is_missing(
    alice: SlackUser, slack: SlackFake
) -> None:
    slack.fail_next("chat.postMessage", status=200, error="not_in_channel")
    await alice.slash_command("logs email-dashboard 300")

    def answered() -> list[str] | None:
        texts = [str(c.params) for c in slack.calls_to("response_url")]
        return texts if any("merged by time" in t for t in texts) and any("not a member" in t for t in texts) else None

    await slack.wait_for(answered, timeout=15)
    assert not slack.calls_to("files.getUploadURLExternal")  # no upload was attempted where it cannot land
