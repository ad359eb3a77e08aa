"""Every metric a check can name, declared once: its direction, what a table must have for it
to be computed, and a one-line description (the `checks:` key's JSON Schema text).

``METRIC_NAMES`` and ``HIGHER_IS_BETTER`` (``synthspec.metrics.checks``), the ``Checks`` spec
model's descriptions and the applicability rules of `validate`, `plan` and `apply` all derive
from :data:`METRICS`. The compute code lives in ``synthspec.engine.checks``.

What a metric needs (``Metric.needs``), all known from the spec alone except ``holdout``:

- ``modelled``: a column the model learns (not a key, foreign key, dropped, hashed, faked or
  free text column: ``ColumnPlan.role == "model"``); ``two_modelled``: two of them;
- ``numerical``: a modelled numerical or datetime column; ``two_numerical``: two of them;
- ``categorical``: a modelled categorical, boolean (or policy-kept text) column;
- ``quasi_identifiers``: ``privacy.quasi_identifiers`` naming at least one modelled column;
- ``primary_key``, ``references``: a primary-key column, a column with ``references``;
- ``pii_policy``: a column with a PII policy other than keep (its real values are searched);
- ``dp``: a differentially private model (``privacy.epsilon``);
- ``target``: the check's ``target``, a modelled column;
- ``holdout``: holdout rows, which a table of fewer than two rows cannot have (decided at run time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synthspec.spec.models import ColumnSpec, TableSpec

NEEDS = frozenset({"modelled", "two_modelled", "numerical", "two_numerical", "categorical", "quasi_identifiers",
                   "primary_key", "references", "pii_policy", "dp", "target", "holdout"})


@dataclass(frozen=True)
class Metric:
    """One metric a check can gate on."""

    name: str
    higher_is_better: bool  # so reports and `plan` can tell a loosened threshold from a tightened one
    needs: frozenset[str]
    description: str
    #: How its uncertainty is estimated (``synthspec.metrics.intervals``): "bootstrap" over rows,
    #: "wilson" for a share, or None for a count or a deterministic quantity (judged on its value).
    interval: str | None = None
    #: Whether real data has a score of its own to compare with: the holdout scored against the
    #: training rows at the same size (`min_relative` gates on synthetic / that baseline).
    relative: bool = False
    #: Whether the metric is an estimate that a tiny table (see ``engine.tiny``) cannot make:
    #: on such a table its check is replaced by ``real_row_matches`` (not evaluated, allowed).
    sampled: bool = False
    #: What to do when its check fails, appended to the message (the gate names an action).
    action: str | None = None

    def __post_init__(self) -> None:
        if unknown := self.needs - NEEDS:
            raise ValueError(f"metric {self.name}: unknown needs {sorted(unknown)}")
        if self.interval not in (None, "bootstrap", "wilson", "ks"):
            raise ValueError(f"metric {self.name}: unknown interval method {self.interval!r}")


def _metric(name: str, higher_is_better: bool, needs: set[str], description: str, *, interval: str | None = None,
            relative: bool = False, sampled: bool | None = None, action: str | None = None) -> Metric:
    # A metric with an interval is an estimate, and so is every holdout metric.
    sampled = (interval is not None or "holdout" in needs) if sampled is None else sampled
    return Metric(name, higher_is_better, frozenset(needs), description, interval, relative, sampled, action)


#: Fidelity scores are gated with ``min`` (except ``correlation_distance``, a distance, gated
#: with ``max``); privacy metrics with ``max`` (``dcr_share`` above 0.5 means synthetic rows sit
#: closer to training rows than to unseen rows, and the privacy check only bounds it from above).
METRICS: dict[str, Metric] = {m.name: m for m in (
    _metric("quality_score", True, {"modelled"}, "SDMetrics QualityReport score (0-1, higher is better). `min_relative` gates on its ratio to the quality the holdout itself scores against the training rows, at the holdout's size.", interval="bootstrap", relative=True, action='try another model (`model: {type: gaussian_copula}`), smaller CART leaves (`params: {min_samples_leaf: N}`), declare discrete or code columns `categorical`, or set a reviewed threshold in the spec'),
    _metric("column_shapes", True, {"modelled"}, "SDMetrics Column Shapes property (0-1). `min_relative`: as for quality_score.", interval="bootstrap", relative=True, action='try another model (`model: {type: gaussian_copula}`), smaller CART leaves (`params: {min_samples_leaf: N}`), declare discrete or code columns `categorical`, or set a reviewed threshold in the spec'),
    _metric("column_pair_trends", True, {"two_modelled"}, "SDMetrics Column Pair Trends property (0-1). `min_relative`: as for quality_score.", interval="bootstrap", relative=True, action='try another model (`model: {type: gaussian_copula}`), smaller CART leaves (`params: {min_samples_leaf: N}`), declare discrete or code columns `categorical`, or set a reviewed threshold in the spec'),
    _metric("ks_complement", True, {"numerical"}, "SDMetrics KSComplement, the lowest over numerical columns (0-1, higher is better; each column reported as `ks_complement:<column>`).", action='try another model (`model: {type: gaussian_copula}`), smaller CART leaves (`params: {min_samples_leaf: N}`), declare discrete or code columns `categorical`, or set a reviewed threshold in the spec'),
    _metric("tv_complement", True, {"categorical"}, "SDMetrics TVComplement, the lowest over categorical columns (0-1, higher is better; each column reported as `tv_complement:<column>`).", action='try another model (`model: {type: gaussian_copula}`), smaller CART leaves (`params: {min_samples_leaf: N}`), declare discrete or code columns `categorical`, or set a reviewed threshold in the spec'),
    _metric("correlation_distance", False, {"two_numerical"}, "Mean absolute difference of Pearson correlations over numerical column pairs, real vs synthetic (0-2, lower is better: gate with `max`).", action='try another model (`model: {type: gaussian_copula}`), smaller CART leaves (`params: {min_samples_leaf: N}`), declare discrete or code columns `categorical`, or set a reviewed threshold in the spec'),
    _metric("boundary_adherence", True, {"numerical"}, "SDMetrics BoundaryAdherence: share of synthetic values inside the real min/max, the lowest over numerical columns (0-1).", action="declare the column's public `min`/`max` (values outside them are clipped)"),
    _metric("category_adherence", True, {"categorical"}, "SDMetrics CategoryAdherence: share of synthetic values seen in the real data, the lowest over categorical columns (0-1).", action="declare the column's `values`, or its type (a code stored as a number is `categorical`)"),
    _metric("ml_efficacy", True, {"target", "holdout"}, "Train-on-synthetic/test-on-real score over train-on-real/test-on-real on the holdout, capped to [0, 1]: ROC AUC (two classes), macro F1 (more) or R² (numerical target). Needs `target`."),
    _metric("dcr_share", False, {"modelled", "holdout"}, "Share of synthetic rows closer to a training row than to a holdout row (0.5 is ideal).", interval="wilson", action="the output sits closer to training rows than to unseen ones: raise CART's `min_samples_leaf` or `smoothing`, generalize or drop identifying columns, or train a differentially private model (`privacy.epsilon`)"),
    _metric("exact_match_rate", False, {"modelled", "holdout"}, "Share of synthetic rows identical to a training row.", interval="wilson", action="the output sits closer to training rows than to unseen ones: raise CART's `min_samples_leaf` or `smoothing`, generalize or drop identifying columns, or train a differentially private model (`privacy.epsilon`)"),
    _metric("nndr", False, {"modelled", "holdout"}, "Nearest-neighbour distance ratio.", action="the output sits closer to training rows than to unseen ones: raise CART's `min_samples_leaf` or `smoothing`, generalize or drop identifying columns, or train a differentially private model (`privacy.epsilon`)"),
    _metric("membership_inference_auc", False, {"modelled", "holdout"}, "AUC of a distance-based membership attack.", action="the output sits closer to training rows than to unseen ones: raise CART's `min_samples_leaf` or `smoothing`, generalize or drop identifying columns, or train a differentially private model (`privacy.epsilon`)"),
    _metric("k_anonymity", True, {"quasi_identifiers"}, "Smallest equivalence class over the quasi-identifiers in the output.", action="generalize the quasi-identifiers (`pii: generalize`), raise rare-value protection (`rare: {min_count: N}`), or raise CART's `min_samples_leaf`"),
    _metric("reidentification_risk", False, {"quasi_identifiers"}, "Share of synthetic rows whose quasi-identifiers single out one real training row.", action="generalize the quasi-identifiers (`pii: generalize`), raise rare-value protection (`rare: {min_count: N}`), or raise CART's `min_samples_leaf`"),
    _metric("real_row_matches", False, {"modelled"}, "Synthetic rows equal to a real row (training and holdout alike) on every modelled column, a count. Checked at `max: 0` on tiny tables, where it replaces the holdout metrics.",
            action="the model keeps producing real rows (every combination of the modelled columns it can draw is a real row): "
                   "give identifying columns a pii policy, model fewer columns, add rows, or set `gate: {tiny_tables: block}`"),
    _metric("pii_leakage", False, {"pii_policy"}, "Real PII values found in the output.", action='a real value of a PII column appears in the output: declare the column `pii: drop`, `hash` or `fake` (`synthspec scan` lists candidates)'),
    _metric("epsilon_spent", False, {"dp"}, "Differential-privacy epsilon spent by the run."),
    _metric("key_uniqueness", True, {"primary_key"}, "Share of unique primary-key values."),
    _metric("referential_integrity", True, {"references"}, "Share of foreign-key values that resolve (always checked at 1.0 on tables with references)."),
    _metric("cardinality", True, {"references"}, "Children-per-parent similarity, 1 - KS statistic (SDMetrics CardinalityShapeSimilarity); the lowest over the table's references. Its interval is the two-sample KS noise at the numbers of real and synthetic parents.", interval="ks", action="children per parent differ from the real ones: check the declared references and the parent's modelled columns"),
)}

#: Why a column that is not modelled is not, per ``ColumnPlan.role``.
ROLE_TEXT = {"drop": "dropped (pii: drop)", "ref": "a foreign key", "key": "the primary key",
             "post": "generated after sampling, not learnt"}


def needing(need: str) -> frozenset[str]:
    """The metrics that have ``need``."""
    return frozenset(name for name, metric in METRICS.items() if need in metric.needs)


def unmet(metric: str, spec: TableSpec, target: str | None = None) -> str | None:
    """Why ``metric`` cannot be computed on a table with this spec, or None when it can (as far
    as the spec tells: ``holdout`` depends on the row count and is decided at run time).
    ``target``: the check's target (default: the spec's ``checks.ml_efficacy.target``)."""
    from synthspec.engine.columns import ColumnPlan  # engine.columns imports the spec models

    roles = {name: ColumnPlan(name, "", column).role for name, column in spec.columns.items()}
    modelled = {name: column for name, column in spec.columns.items() if roles[name] == "model"}
    numerical = [name for name, column in modelled.items() if _numerical(column)]
    categorical = [name for name, column in modelled.items() if not _numerical(column)]
    needs = METRICS[metric].needs
    if "modelled" in needs and not modelled:
        return "needs a modelled column; every column of this table is a key, a foreign key, dropped, hashed, faked or free text"
    if "two_modelled" in needs and len(modelled) < 2:
        return f"needs two modelled columns; this table has {len(modelled)}"
    if "numerical" in needs and not numerical:
        return "needs a modelled numerical or datetime column"
    if "two_numerical" in needs and len(numerical) < 2:
        return f"needs two modelled numerical or datetime columns; this table has {len(numerical)}"
    if "categorical" in needs and not categorical:
        return "needs a modelled categorical or boolean column"
    if "quasi_identifiers" in needs:
        qis = spec.privacy.quasi_identifiers
        if not qis:
            return "needs privacy.quasi_identifiers (modelled columns an attacker may know); this spec names none"
        if not any(q in modelled for q in qis):
            return "needs privacy.quasi_identifiers that are modelled columns; none of those named is"
    if "primary_key" in needs and not any(c.primary_key for c in spec.columns.values()):
        return "needs a primary_key column"
    if "references" in needs and not any(c.references is not None for c in spec.columns.values()):
        return "needs a column with `references`"
    if "pii_policy" in needs and not any(c.pii not in (None, "keep") for c in spec.columns.values()):
        return "needs a column with a pii policy other than keep (drop, hash, fake, mask or generalize)"
    if "dp" in needs and spec.privacy.epsilon is None:
        return "needs a differentially private model (privacy.epsilon)"
    if "target" in needs:
        if target is None and spec.checks.ml_efficacy is not None:
            target = spec.checks.ml_efficacy.target
        return target_problem(target, spec, roles)
    return None


def target_problem(target: str | None, spec: TableSpec, roles: dict[str, str] | None = None) -> str | None:
    """Why ``target`` cannot be ml_efficacy's target: it must be a column the model learns (the
    metric compares models trained on the modelled columns)."""
    if target is None:
        return "needs 'target', the column the models learn to predict"
    if target not in spec.columns:
        return f"target '{target}' is not a declared column"
    if roles is None:
        from synthspec.engine.columns import ColumnPlan

        roles = {target: ColumnPlan(target, "", spec.columns[target]).role}
    if roles[target] != "model":
        return f"target '{target}' is not a modelled column: it is {ROLE_TEXT[roles[target]]}"
    return None


def applicability(spec: TableSpec) -> dict[str, str | None]:
    """Per metric: None when a table with this spec can compute it, else why not."""
    return {name: unmet(name, spec) for name in METRICS}


def _numerical(column: ColumnSpec) -> bool:
    # The model's kinds: numerical and datetime columns are numerical, the rest categorical.
    return column.type in ("numerical", "datetime")


__all__ = ["METRICS", "Metric", "ROLE_TEXT", "applicability", "needing", "target_problem", "unmet"]
