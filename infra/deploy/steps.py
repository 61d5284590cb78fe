"""Deployment steps: argv lists, their shell rendering (DRY_RUN) and their execution.

A step is one command that creates or changes something, optionally guarded:

* ``unless`` — a read-only command; exit 0 means the resource exists, so ``run`` is
  skipped (or ``otherwise`` runs instead: create-or-update, decided here, in Python);
* ``capture`` — ``run`` is a read whose output later steps need (a project number,
  an Eventarc-generated subscription); they refer to it as ``${NAME}``;
* ``stdin_env`` — the value of that variable is fed on stdin and never printed
  (the Slack webhook); with ``unless``, the step is skipped when ``unless`` prints
  exactly that value.

Commands are never shell strings: the executor passes argv lists to ``subprocess``.
``render`` prints the same plan as a shell script a person can read or run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from common.errors import AppError, ConfigError

Argv = tuple[str, ...]
_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


class StepFailed(AppError):
    """A deployment command failed; the message names it and what to check."""

    exit_code = 1


@dataclass(frozen=True)
class Step:
    """One command of the plan; ``kind`` groups steps for ordering checks and logs."""

    kind: str
    what: str
    run: Argv
    unless: Argv = ()
    otherwise: Argv = ()
    capture: str = ""
    stdin_env: str = ""
    attempts: int = 1  # IAM is eventually consistent: a fresh service account may need a retry
    hint: str = ""

    def commands(self) -> Iterable[Argv]:
        """Every argv this step may execute."""
        return [argv for argv in (self.unless, self.run, self.otherwise) if argv]


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str = ""
    stderr: str = ""


class Runner(Protocol):
    def __call__(self, argv: Argv, *, stdin: str | None, capture: bool) -> Result: ...


def subprocess_runner(argv: Argv, *, stdin: str | None, capture: bool) -> Result:
    """Run argv; stream its output unless it is captured (deploys take minutes)."""
    proc = subprocess.run(  # noqa: S603 - argv list, never a shell
        list(argv),
        input=stdin,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        check=False,
    )
    return Result(proc.returncode, proc.stdout or "", proc.stderr or "")


def gcloud(*args: str) -> Argv:
    """A non-interactive gcloud command."""
    return ("gcloud", *args, "--quiet")


# -- rendering --------------------------------------------------------------------------------
def quote(arg: str) -> str:
    """Shell-quote one argument; ``${VAR}`` stays expandable."""
    if not _VAR.search(arg):
        return shlex.quote(arg)
    escaped = re.sub(r'(["\\`])', r"\\\1", arg)
    escaped = re.sub(r"\$(?!\{[A-Z][A-Z0-9_]*\})", r"\\$", escaped)
    return f'"{escaped}"'


def shell(argv: Sequence[str]) -> str:
    return " ".join(quote(a) for a in argv)


def render(step: Step) -> str:
    """One line of shell that does what the executor does for ``step``."""
    run = shell(step.run)
    if step.stdin_env:
        run = f'printf %s "${step.stdin_env}" | {run}'
    if step.capture:
        return f"{step.capture}=$({run})"
    if not step.unless:
        return run
    check = shell(step.unless)
    if step.stdin_env:
        return f'[ "$({check} 2>/dev/null)" = "${step.stdin_env}" ] || {run}'
    if step.otherwise:
        return f"if {check} >/dev/null 2>&1; then {shell(step.otherwise)}; else {run}; fi"
    return f"{check} >/dev/null 2>&1 || {run}"


def render_plan(steps: Sequence[Step]) -> str:
    lines = [
        "#!/usr/bin/env bash",
        "# DRY RUN: nothing was run. The same steps, in order, as shell:",
        "set -euo pipefail",
    ]
    lines += [render(step) for step in steps]
    return "\n".join(lines) + "\n"


# -- execution --------------------------------------------------------------------------------
def substitute(argv: Argv, variables: Mapping[str, str]) -> Argv:
    """Replace ``${NAME}`` by captured values; a missing one is a bug in the plan."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise ConfigError(f"deploy plan uses ${{{name}}} before a step captured it")
        return variables[name]

    return tuple(_VAR.sub(value, arg) for arg in argv)


@dataclass
class Executor:
    """Runs a plan in order; stops at the first failure with the step's hint."""

    runner: Runner = subprocess_runner
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    say: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))
    retry_delay: float = 10.0
    variables: dict[str, str] = field(default_factory=dict)

    def execute(self, steps: Sequence[Step]) -> None:
        for number, step in enumerate(steps, 1):
            self.say(f"[{number}/{len(steps)}] {step.what}")
            self.execute_step(step)

    def execute_step(self, step: Step) -> None:
        stdin = self._stdin(step)
        if step.unless:
            check = self.runner(substitute(step.unless, self.variables), stdin=None, capture=True)
            exists = check.returncode == 0 and (stdin is None or check.stdout.strip() == stdin.strip())
            if exists and not step.otherwise:
                self.say("  = already in place")
                return
            if exists:
                self._run(step, step.otherwise, None)
                return
        self._run(step, step.run, stdin)

    def _stdin(self, step: Step) -> str | None:
        if not step.stdin_env:
            return None
        value = self.env.get(step.stdin_env, "")
        if not value:
            raise ConfigError(f"{step.stdin_env} is empty: {step.what} needs it")
        return value

    def _run(self, step: Step, argv: Argv, stdin: str | None) -> None:
        argv = substitute(argv, self.variables)
        self.say(f"  + {shell(argv)}")
        for attempt in range(1, step.attempts + 1):
            result = self.runner(argv, stdin=stdin, capture=bool(step.capture))
            if result.returncode == 0:
                break
            if attempt < step.attempts:
                self.say(f"  ! exit {result.returncode}, retrying in {self.retry_delay:.0f} s")
                time.sleep(self.retry_delay)
        else:
            detail = result.stderr.strip().splitlines()[-1:] if result.stderr else []
            raise StepFailed(
                f"{step.what}: `{shell(argv)}` exited {result.returncode}"
                + (f" ({detail[0]})" if detail else "")
                + (f". {step.hint}" if step.hint else "")
            )
        if step.capture:
            value = result.stdout.strip()
            if not value:
                raise StepFailed(f"{step.what}: `{shell(argv)}` printed nothing. {step.hint}".rstrip())
            self.variables[step.capture] = value
            self.say(f"  = {step.capture}={value}")
