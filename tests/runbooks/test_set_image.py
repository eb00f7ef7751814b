"""Issue 21: `/runbook set-image` over signed HTTP against the sandbox cluster: only the catalog's image
repositories, a server-side dry run for the preview (image before → after), and a second person."""

from __future__ import annotations

import pytest

from bot import errors
from bot.actions.images import new_image, repository
from bot.app import BotProcess
from bot.ids import ActionId
from sandbox.cluster import SandboxCluster
from sandbox.slack_client import SlackUser
from sandbox.slack_fake import SlackFake
from tests.flows import BACKEND, NS, ephemeral_text, final_state, preview_message

PATCHED = "ghcr.io/repo/mail-score-backend:security-patch"


def image(cluster: SandboxCluster) -> str:
    containers = cluster.deployment(NS, BACKEND)["spec"]["template"]["spec"]["containers"]
    return str(next(c for c in containers if c["name"] == "backend")["image"])


def test_repository_is_the_image_without_tag_or_digest_and_keeps_a_registry_port() -> None:
    assert repository("registry:5000/team/app:1.2@sha256:abc") == "registry:5000/team/app"
    assert repository("registry:5000/team/app") == "registry:5000/team/app"
    assert repository("email-triage:patched-version") == "email-triage"


def test_a_new_image_keeps_to_the_allowed_repositories() -> None:
    allowed = ["ghcr.io/repo/app"]
    assert new_image("ghcr.io/repo/app:1.0", "1.1", allowed, "svc") == "ghcr.io/repo/app:1.1"
    assert new_image("other.io/app:1.0", "ghcr.io/repo/app:fix", allowed, "svc") == "ghcr.io/repo/app:fix"
    with pytest.raises(errors.UserError, match=r"allowed: `ghcr\.io/repo/app`"):
        new_image("other.io/app:1.0", "1.1", allowed, "svc")
    with pytest.raises(errors.UserError, match="allowed"):
        new_image("ghcr.io/repo/app:1.0", "ghcr.io/repo/app-evil:1", allowed, "svc")
    with pytest.raises(errors.UserError, match="neither a tag"):
        new_image("ghcr.io/repo/app:1.0", "ghcr.io/repo/app:", allowed, "svc")


def test_a_refused_image_without_a_service_name_is_refused_for_this_service_in_the_books_words() -> None:
    with pytest.raises(errors.UserError) as refused:
        new_image("other.io/app:1.0", "1.1", ["ghcr.io/repo/app"], None)
    assert refused.value.said.fields["service"] is None  # data: the phrase words the missing name
    assert "not an image repository this service may deploy from" in str(refused.value)
    with pytest.raises(errors.UserError, match=r"^This service allows no image repositories"):
        new_image("ghcr.io/repo/app:1.0", "1.1", [], None)


async def test_set_image_previews_before_and_after_by_dry_run_and_needs_a_second_person(
    alice: SlackUser, bob: SlackUser, slack: SlackFake, cluster: SandboxCluster
) -> None:
    before = image(cluster)
    await alice.slash_command(f"set-image backend backend {PATCHED}")
    preview = await preview_message(slack)
    assert f"`{before}` → `{PATCHED}`" in str(preview.blocks)
    patches = cluster.requests_to(f"/deployments/{BACKEND}", "PATCH")
    assert patches and all("dryRun" in p.query for p in patches), "the preview is the API server's dry run"
    assert image(cluster) == before

    await alice.block_action(preview, ActionId.CONFIRM.value)
    await ephemeral_text(slack, "U0ALICE", "second person")
    assert image(cluster) == before
    await bob.block_action(preview, ActionId.CONFIRM.value)
    await final_state(slack, preview, "succeeded")
    assert image(cluster) == PATCHED


async def test_set_image_from_a_repository_the_catalog_does_not_allow_is_refused_with_the_list(
    alice: SlackUser, slack: SlackFake, cluster: SandboxCluster, bot: BotProcess
) -> None:
    before = image(cluster)
    await alice.slash_command("set-image backend backend evil.example.com/miner:latest")
    text = await ephemeral_text(slack, "U0ALICE", "allowed")
    assert "ghcr.io/repo/mail-score-backend" in text
    # A bare tag keeps the running image's repository, which is not on the list either.
    await alice.slash_command("set-image backend backend security-patch")
    await slack.wait_for(
        lambda: len([m for m in slack.ephemeral_messages("U0ALICE") if "allowed" in m.text + str(m.blocks)]) >= 2
    )
    assert bot.runtime is not None
    assert await bot.runtime.executions.recent(service="backend", limit=5) == []
    assert image(cluster) == before
    assert [p for p in cluster.requests_to(f"/deployments/{BACKEND}", "PATCH") if "dryRun" not in p.query] == []
