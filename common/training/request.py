"""What to train, validated once: the typed form of ``modelctl train``'s flags.

A :class:`TrainRequest` checks everything it can on its own (loss and alpha,
window order, eval after training); :meth:`TrainRequest.against_data` checks the
windows against the data's dates and fills in the default eval window. Each
problem is one :class:`InvalidArgument` with a sentence that says what to change.
:meth:`TrainRequest.argv` renders the exact ``modelctl train`` command back, which
is what ``modelctl retrain --dry-run`` prints.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from common.betting import DEFAULT_BET_PRICE
from common.errors import AppError, InvalidArgument
from common.feature_sets import get_feature_set, split_feature_set
from common.registry.naming import Family, check_alpha, family_name
from common.training.gates import DEFAULT_GATES, GateConfig

DEFAULT_ITERATIONS = 1000
DEFAULT_DEPTH = 6
DEFAULT_SEED = 42
DEFAULT_EVAL_DAYS = 14  # eval window when only the train window is given
LOSS_FLAGS = {"mae": "MAE", "quantile": "Quantile"}


@dataclass(frozen=True)
class TrainRequest:
    """One training run: family, windows, grading, publishing and CatBoost settings."""

    name: str
    feature_set: str  # full set name: v9, v12, v12_noveg
    loss_function: str  # MAE | Quantile
    quantile_alpha: float | None
    train_start: date
    train_end: date
    eval_start: date | None = None
    eval_end: date | None = None
    walkforward: bool = False
    use_production_lines: bool = False
    skip_upload: bool = False
    skip_register: bool = False
    iterations: int = DEFAULT_ITERATIONS
    learning_rate: float | None = None  # None: derived from iterations
    depth: int = DEFAULT_DEPTH
    seed: int = DEFAULT_SEED
    output_dir: Path | None = None
    gates: GateConfig = DEFAULT_GATES
    #: American odds of a bet whose evaluation row has no price (the setting ``BET_PRICE``): the units,
    #: ROI and break-even hit rates the gates compare with settle those bets at it
    bet_price: float = DEFAULT_BET_PRICE

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise InvalidArgument("--name must not be empty: it prefixes the model's description")
        try:
            get_feature_set(self.feature_set)
        except AppError as exc:
            raise InvalidArgument(str(exc)) from None
        self._check_loss()
        self._check_windows()
        if self.iterations < 1 or not 1 <= self.depth <= 16:
            raise InvalidArgument(f"--iterations must be >= 1 and --depth 1..16 (got {self.iterations}, {self.depth})")
        if self.learning_rate is not None and not 0 < self.learning_rate <= 1:
            raise InvalidArgument(f"--learning-rate must be in (0, 1], got {self.learning_rate}")

    def _check_loss(self) -> None:
        if self.loss_function not in LOSS_FLAGS.values():
            raise InvalidArgument(f"unknown loss {self.loss_function!r}: use --loss mae or --loss quantile")
        if self.loss_function == "MAE" and self.quantile_alpha is not None:
            raise InvalidArgument(
                f"--quantile-alpha {self.quantile_alpha} contradicts --loss mae: an alpha means quantile loss; "
                "drop --loss mae (or write --loss quantile), or drop --quantile-alpha"
            )
        if self.loss_function == "Quantile" and self.quantile_alpha is None:
            raise InvalidArgument("--loss quantile needs --quantile-alpha A (e.g. 0.43)")
        try:
            check_alpha(self.quantile_alpha, self.loss_function)
        except AppError as exc:
            raise InvalidArgument(str(exc)) from None

    def _check_windows(self) -> None:
        if self.train_start > self.train_end:
            raise InvalidArgument(
                f"train window is empty: --train-start {self.train_start} is after --train-end {self.train_end}"
            )
        if self.eval_start and self.eval_end and self.eval_start > self.eval_end:
            raise InvalidArgument(
                f"eval window is empty: --eval-start {self.eval_start} is after --eval-end {self.eval_end}"
            )
        first_eval = self.eval_start or self.eval_end
        if first_eval is not None and first_eval <= self.train_end:
            raise InvalidArgument(
                f"eval window {self.eval_start or '…'}..{self.eval_end or '…'} overlaps the train window "
                f"{self.train_start}..{self.train_end}: evaluate on dates after {self.train_end}"
            )

    # -- derived -------------------------------------------------------------------------
    @property
    def family(self) -> str:
        return family_name(self.feature_set, self.loss_function, self.quantile_alpha)

    @property
    def grading_line(self) -> str:
        """The line hit rates are graded against: with --use-production-lines the line production
        would have bet (the snapshot as of the lead time before the slate's first tip-off, column
        ``line``), else the opening line. Never the closing line: nobody can bet it hours before."""
        return "line" if self.use_production_lines else "opening_line"

    @property
    def grading_line_label(self) -> str:
        return "lines as of the lead time" if self.use_production_lines else "opening lines"

    @property
    def effective_learning_rate(self) -> float:
        """0.05 at 1,000 iterations; fewer iterations take bigger steps (capped at 0.3)."""
        return self.learning_rate or round(min(0.3, 50.0 / self.iterations), 4)

    def against_data(self, first: date, last: date) -> TrainRequest:
        """Check the windows against the data's dates (``first``..``last``); fill the eval window.

        Without eval dates the eval window is the 14 days after training, cut at ``last``.
        """
        span = f"the data covers {first}..{last}"
        if self.train_start > last:
            raise InvalidArgument(f"train window starts {self.train_start}, after the data's last date {last} ({span})")
        if self.train_end > last:
            raise InvalidArgument(
                f"--train-end {self.train_end} is after the data's last date {last}: "
                f"end training before {last} to leave dates to evaluate on ({span})"
            )
        if self.train_end < first:
            raise InvalidArgument(f"train window {self.train_start}..{self.train_end} is before any data ({span})")
        start = self.eval_start or self.train_end + timedelta(days=1)
        end = self.eval_end or min(start + timedelta(days=DEFAULT_EVAL_DAYS - 1), last)
        if start > last:
            raise InvalidArgument(
                f"eval window starts {start}, after the data's last date {last}: "
                f"end training earlier or give --eval-start/--eval-end ({span})"
            )
        return replace(self, eval_start=start, eval_end=min(end, last))

    @classmethod
    def for_family(cls, family: Family, **fields: object) -> TrainRequest:
        """A request for a registry family (its feature set, loss and alpha)."""
        return cls(
            feature_set=family.feature_set,
            loss_function=family.loss_function,
            quantile_alpha=family.quantile_alpha,
            **fields,  # type: ignore[arg-type]
        )

    # -- the command line ----------------------------------------------------------------
    def argv(self) -> list[str]:
        """The ``modelctl train`` arguments that produce this request."""
        base, no_vegas = split_feature_set(self.feature_set)
        args = ["--name", self.name, "--feature-set", base] + (["--no-vegas"] if no_vegas else [])
        args += ["--loss", "mae" if self.loss_function == "MAE" else "quantile"]
        if self.quantile_alpha is not None:
            args += ["--quantile-alpha", f"{self.quantile_alpha:g}"]
        args += ["--train-start", self.train_start.isoformat(), "--train-end", self.train_end.isoformat()]
        for flag, value in (("--eval-start", self.eval_start), ("--eval-end", self.eval_end)):
            if value is not None:
                args += [flag, value.isoformat()]
        for flag, on in (
            ("--walkforward", self.walkforward),
            ("--use-production-lines", self.use_production_lines),
            ("--skip-auto-upload", self.skip_upload),
            ("--skip-auto-register", self.skip_register),
        ):
            if on:
                args.append(flag)
        if self.iterations != DEFAULT_ITERATIONS:
            args += ["--iterations", str(self.iterations)]
        if self.learning_rate is not None:
            args += ["--learning-rate", f"{self.learning_rate:g}"]
        if self.output_dir is not None:
            args += ["--output-dir", str(self.output_dir)]
        return args

    def command(self) -> str:
        return shlex.join(["modelctl", "train", *self.argv()])


def loss_from_flags(loss: str | None, quantile_alpha: float | None) -> str:
    """``--loss`` as given, else what the flags imply: quantile with ``--quantile-alpha``, else mae.

    The seed's commands give an alpha alone (``--quantile-alpha 0.43``); an explicit
    ``--loss mae`` next to an alpha stays a contradiction, reported by :class:`TrainRequest`.
    """
    if loss is None:
        return LOSS_FLAGS["quantile" if quantile_alpha is not None else "mae"]
    try:
        return LOSS_FLAGS[loss]
    except KeyError:
        raise InvalidArgument(f"unknown loss {loss!r}: use --loss mae or --loss quantile") from None


def parse_day(value: str | None, flag: str) -> date | None:
    """A ``YYYY-MM-DD`` option value (None stays None)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None
