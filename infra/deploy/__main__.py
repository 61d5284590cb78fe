"""``make deploy PROJECT=p REGION=r [DRY_RUN=1]``: create or update everything on Google Cloud.

Every option falls back to the environment variable of the same name, so
``make deploy PROJECT=p REGION=r BUCKET=b SCHEDULE='0 8 * * *'`` works as is.
DRY_RUN=1 prints the plan as shell, in order, and runs nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from common.errors import AppError, ConfigError
from common.settings import SLACK_WEBHOOK_URL
from infra.deploy.config import DeployConfig
from infra.deploy.plan import plan
from infra.deploy.steps import Executor, render_plan

# option → (environment variable, DeployConfig field)
OPTIONS: dict[str, tuple[str, str]] = {
    "--project": ("PROJECT", "project"),
    "--region": ("REGION", "region"),
    "--dataset": ("DATASET", "dataset"),
    "--bucket": ("BUCKET", "bucket"),
    "--bucket-location": ("BUCKET_LOCATION", "bucket_location"),
    "--bq-location": ("BQ_LOCATION", "bq_location"),
    "--schedule": ("SCHEDULE", "schedule"),
    "--time-zone": ("TIME_ZONE", "time_zone"),
    "--scheduler-job": ("SCHEDULER_JOB", "scheduler_job"),
    "--slack-secret": ("SLACK_SECRET", "slack_secret"),
    "--max-delivery-attempts": ("MAX_DELIVERY_ATTEMPTS", "max_delivery_attempts"),
    "--dist": ("DIST", "dist"),
}
INTEGERS = {"max_delivery_attempts"}
TRUE = {"1", "true", "yes", "on"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    for option, (var, field) in OPTIONS.items():
        default = getattr(DeployConfig, field, "") if field not in ("project", "region") else ""
        parser.add_argument(option, dest=field, help=f"env {var}" + (f" (default {default!r})" if default else ""))
    parser.add_argument("--dry-run", action="store_true", help="env DRY_RUN=1: print the commands, run nothing")
    return parser


def config_from(args: argparse.Namespace, env: Mapping[str, str]) -> DeployConfig:
    """Options win over environment variables, which win over the defaults."""
    values: dict[str, object] = {}
    for var, field in OPTIONS.values():
        value = getattr(args, field) or env.get(var, "")
        if value and field in INTEGERS:
            try:
                value = int(value)
            except ValueError:
                raise ConfigError(f"{var} must be a whole number, got {value!r}") from None
        if value:
            values[field] = value
    for required in ("project", "region"):
        if not values.get(required):
            raise ConfigError(f"{required.upper()} is required: make deploy PROJECT=my-project REGION=us-west2")
    values["set_slack_webhook"] = bool(env.get(SLACK_WEBHOOK_URL))
    return DeployConfig(**values).validate()  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    args = build_parser().parse_args(argv)
    try:
        cfg = config_from(args, env)
        steps = plan(cfg)
        if args.dry_run or env.get("DRY_RUN", "").strip().lower() in TRUE:
            sys.stdout.write(render_plan(steps))
            return 0
        Executor(env=env).execute(steps)
    except AppError as exc:
        print(f"deploy: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"deployed to {cfg.project} ({cfg.region}): {len(steps)} steps", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
