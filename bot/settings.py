"""Process settings, read from the environment only (secrets never come from files in the repo)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import errors

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent


def _default_catalog() -> Path:
    return PROJECT_ROOT / "chatops.yml"


class Settings(BaseSettings):
    """Everything the process reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    slack_bot_token: SecretStr = Field(default=SecretStr(""), alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr = Field(default=SecretStr(""), alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr = Field(default=SecretStr(""), alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=DEFAULT_SLACK_API_URL, alias="SLACK_API_URL")
    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    redis_url: SecretStr | None = Field(default=None, alias="REDIS_URL")
    redis_prefix: str = Field(default="runbook-bot:", alias="REDIS_PREFIX")  # several bots, one Redis
    kubeconfig: Path | None = Field(default=None, alias="KUBECONFIG")
    docker_host: str | None = Field(default=None, alias="DOCKER_HOST")  # catalog hosts without a url use it
    chatops_config: Path = Field(default_factory=_default_catalog, alias="CHATOPS_CONFIG")
    commands_dir: Path = Field(default=PROJECT_ROOT / "commands", alias="RUNBOOK_COMMANDS_DIR")
    templates_dir: Path = Field(default=PROJECT_ROOT / "templates", alias="RUNBOOK_TEMPLATES_DIR")
    guides_dir: Path = Field(default=PROJECT_ROOT / "runbooks", alias="RUNBOOK_GUIDES_DIR")  # reviewed imports
    data_dir: Path = Field(default=PROJECT_ROOT / ".data", alias="RUNBOOK_DATA_DIR")
    # Templates and phrases compiled at start-up, kept for the next process (bot/compiled.py); unset:
    # <data dir>/cache. A folder the process cannot write only means each start compiles them again.
    cache_dir: Path | None = Field(default=None, alias="RUNBOOK_CACHE_DIR")
    host: str = Field(default="0.0.0.0", alias="HOST")  # noqa: S104 - a container must listen on all interfaces
    port: int = Field(default=3000, ge=0, le=65535, alias="PORT")
    prometheus_url: str | None = Field(default=None, alias="PROMETHEUS_URL")  # health checks' PromQL
    alertmanager_token: SecretStr = Field(default=SecretStr(""), alias="ALERTMANAGER_TOKEN")
    # Key of the fingerprints shown for masked env/ConfigMap values; empty = derived from the signing secret.
    value_fingerprint_key: SecretStr = Field(default=SecretStr(""), alias="VALUE_FINGERPRINT_KEY")
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$", alias="LOG_FORMAT")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    # Timeouts (seconds) for every external call; one place so operators can tune them.
    slack_timeout: float = Field(default=10.0, gt=0, alias="SLACK_TIMEOUT")
    kube_timeout: float = Field(default=10.0, gt=0, alias="KUBE_TIMEOUT")
    docker_timeout: float = Field(default=10.0, gt=0, alias="DOCKER_TIMEOUT")
    db_timeout: float = Field(default=5.0, gt=0, alias="DB_TIMEOUT")
    redis_timeout: float = Field(default=2.0, gt=0, alias="REDIS_TIMEOUT")
    # A client gets this long to send a request's headers, and again its body; a slow one is cut off.
    http_read_timeout: float = Field(default=10.0, gt=0, alias="HTTP_READ_TIMEOUT")
    # Statuspage and PagerDuty (issue 23): the APIs' addresses (tests and the shell point them at the
    # fakes), the timeout of each call, and how the outbox retries what they could not take.
    statuspage_api_url: str = Field(default="https://api.statuspage.io/v1/", alias="STATUSPAGE_API_URL")
    pagerduty_events_url: str = Field(default="https://events.pagerduty.com/v2/enqueue", alias="PAGERDUTY_EVENTS_URL")
    pagerduty_api_url: str = Field(default="https://api.pagerduty.com/", alias="PAGERDUTY_API_URL")
    outbound_timeout: float = Field(default=10.0, gt=0, alias="OUTBOUND_TIMEOUT")
    outbox_poll_seconds: float = Field(default=2.0, gt=0, alias="OUTBOX_POLL_SECONDS")
    outbox_backoff_seconds: float = Field(default=5.0, gt=0, alias="OUTBOX_BACKOFF_SECONDS")  # doubles per attempt
    outbox_backoff_max_seconds: float = Field(default=600.0, gt=0, alias="OUTBOX_BACKOFF_MAX_SECONDS")
    db_pool_size: int = Field(default=10, ge=2, le=200, alias="DB_POOL_SIZE")
    # Confirmed changes one requester may have per minute (a catalog role's changes_per_minute overrides it).
    destructive_per_minute: int = Field(default=10, ge=1, alias="DESTRUCTIVE_REQUESTS_PER_MINUTE")
    # A running execution writes a heartbeat this often; one silent for `execution_stale_seconds`
    # belonged to a replica that died, and is marked interrupted by the sweep (every `sweep_seconds`).
    heartbeat_seconds: float = Field(default=5.0, gt=0, alias="EXECUTION_HEARTBEAT_SECONDS")
    execution_stale_seconds: float = Field(default=15.0, gt=0, alias="EXECUTION_STALE_SECONDS")
    sweep_seconds: float = Field(default=15.0, gt=0, alias="SWEEP_SECONDS")
    # On SIGTERM running executions get this long to finish; the rest are marked interrupted, their
    # messages updated and their targets freed before the process exits (keep it below the pod's
    # terminationGracePeriodSeconds).
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, alias="SHUTDOWN_GRACE_SECONDS")
    # Work after an ack (answers, clicks) runs on this many workers; when this many requests are already
    # waiting, a new one is answered "busy, try again in a moment" instead of making every ack slower.
    followup_workers: int = Field(default=8, ge=1, le=256, alias="FOLLOWUP_WORKERS")
    followup_queue: int = Field(default=500, ge=1, alias="FOLLOWUP_QUEUE")

    def secret_values(self) -> list[str]:
        """Every secret setting that is set: what the log redactor must hide. A new SecretStr field is
        included without anyone having to remember this list."""
        values = [getattr(self, name) for name in type(self).model_fields]
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and v.get_secret_value()]

    @property
    def slack_api_base(self) -> str:
        """The Web API base with exactly one trailing slash, as slack_sdk expects."""
        return self.slack_api_url.rstrip("/") + "/"


def load_settings() -> Settings:
    """Read settings from the environment; a bad value raises ConfigError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"environment variable {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        ]
        raise errors.ConfigError(problems) from exc
