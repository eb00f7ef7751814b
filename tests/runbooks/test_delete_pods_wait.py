"""Issue 15: delete-pods waits as kubectl would — the deleted pods gone, then replacements Ready and the
deployment available — instead of reporting "successfully rolled out" from the deployment's stale status."""

from __future__ import annotations

import json

from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.flows import final_state

NS, DASHBOARD = "production", "email-dashboard"


def _pods(cluster: SandboxCluster) -> list[dict[str, object]]:
    return [p for p in cluster.pods(NS) if str(p["metadata"]["name"]).startswith(DASHBOARD)]  # type: ignore[index]


def _ready(pod: dict[str, object]) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses") or []  # type: ignore[union-attr]
    return bool(statuses) and all(s.get("ready") for s in statuses)


async def test_delete_pods_succeeds_only_once_the_replacements_are_ready(
    alice: SlackUser, bob: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    before = {p["metadata"]["name"] for p in _pods(cluster)}  # type: ignore[index]
    wanted = int(cluster.deployment(NS, DASHBOARD)["spec"]["replicas"])
    await alice.slash_command("delete-pods email-dashboard")
    # The first request warms the Kubernetes client's threads: on a loaded machine it takes a few seconds.
    preview = await slack.wait_for(
        lambda: next((m for m in slack.messages("C0OPS") if ActionId.CONFIRM.value in str(m.blocks)), None),
        timeout=30,
    )
    await cluster.controller.stop()  # nothing recreates or readies pods until it runs again
    try:
        await bob.block_action(preview, ActionId.CONFIRM.value)  # two-person: bob approves

        def pod_lists() -> int:
            return len(cluster.requests_to(f"/namespaces/{NS}/pods", "GET"))

        def shown() -> str:
            return json.dumps(slack.message("C0OPS", preview.ts).blocks)  # type: ignore[union-attr]

        # Either the run says it is done, or it is still polling the pods well after deleting them
        # (the preview and the delete each list them once). Polled here: Slack hears nothing meanwhile.
        await cluster.wait_until(lambda: "*succeeded*" in shown() or pod_lists() >= 4, within=30)
        assert "*succeeded*" not in shown(), "reported done while no replacement existed"
    finally:
        cluster.controller.start()
    final = await final_state(slack, preview, "succeeded")
    pods = _pods(cluster)
    assert not before & {p["metadata"]["name"] for p in pods}  # type: ignore[index]
    assert sum(1 for p in pods if _ready(p)) >= wanted
    assert f"{wanted} of {wanted} replacement pods ready" in json.dumps(final.blocks)
