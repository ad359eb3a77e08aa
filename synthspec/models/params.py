"""Parameter schemas and capability flags of the built-in models.

They live apart from the model implementations so that `validate`, `plan` and an up-to-date
`apply` can check a spec's `model:` block without importing numpy, scikit-learn, SDV or torch.
Each model class points at its schema here; a test keeps the flags in sync with the classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from synthspec.models.base import ModelParams


def leaf_size(rows: int) -> int:
    """The default ``min_samples_leaf`` for ``rows`` training rows: pools of ~1.86·sqrt(n) rows
    (the bias/variance rate of a nonparametric conditional), at least 5, at most 300."""
    return int(min(300, max(5, round(1.86 * rows**0.5))))


class CartParams(ModelParams):
    min_samples_leaf: int | None = Field(
        default=None,
        ge=1,
        description="Minimum training rows per tree leaf. Every synthetic value is drawn from a "
        "leaf's donor pool, so larger leaves mean less memorisation and coarser conditionals. "
        "Default: grows with the square root of the training rows, 1.86·sqrt(n) between 5 and 300 "
        "(300 from ~26,000 rows: UCI Adult's DCR share near 0.505 at SDMetrics quality 0.99; "
        "20 at 120 rows, where a fixed 300 could not split at all).",
    )
    max_depth: int | None = Field(default=None, ge=1, description="Optional cap on tree depth (None: limited by leaf size).")
    smoothing: float = Field(
        default=0.25,
        ge=0.0,
        description="Multiplier on the Gaussian kernel bandwidth (Silverman's rule within each "
        "leaf) added to numerical donors; 0 adds none (with `linear: false`, every numerical value is then a training value). The default, a quarter "
        "of Silverman's bandwidth, still keeps continuous values from being copied exactly but no "
        "longer flattens peaked distributions (1.0 cost Adult's fnlwgt and hours_per_week 0.02 "
        "of their holdout accuracy while moving the DCR share by less than its noise). Values held "
        "by 5 rows or more are not blurred (unless drawn off a line); a blurred value is drawn on "
        "its donor's grid, as round as the donor (451,500 gives a multiple of 500) but no coarser "
        "than a tenth of the blur (then rounded to at most a quarter of it).",
    )
    linear: bool = Field(
        default=True,
        description="Model a numerical column as its residual from a least-squares line in at most three "
        "earlier numerical columns when that line explains at least 81% of its variance (|r| >= 0.9 for one "
        "column): a line price and its product's list price (r 0.997 kept as 0.996 instead of 0.77 from "
        "leaves alone), a total and its parts (kept equal to their sum in every row).",
    )
    centre: bool = Field(
        default=True,
        description="Give a continuous column (not levels, not on a line) a centre: a few boosted trees in the "
        "earlier columns, kept when they explain at least a fifth of the variance of its ranks in held-out rows. A row then takes "
        "the donor of its leaf at the rank its predictors call for (centre + the leaf's residual noise), "
        "instead of a random one: the leaf's values are kept exactly, but a house price follows location and "
        "size as closely as in the real rows (kc_house TSTR R² 0.81 -> 0.87). A categorical column whose "
        "categories all spell numbers (at least three: bathrooms 1.75, a grade 7) is ordered by them and may "
        "take a centre the same way (its nulls stay random): a bathroom count follows the house's grade.",
    )
    visit_sequence: list[str] | None = Field(
        default=None,
        description="Columns to synthesise first, in this order; the remaining columns follow in "
        "the default order (fewest distinct values first, ties in spec order).",
    )
    donors: Literal["fitted", "all"] = Field(
        default="fitted",
        description="Above `model.max_training_rows`: `fitted` draws donors from the subsample the trees "
        "are grown on; `all` grows the trees on the subsample, then routes every training row to its "
        "leaf as a donor (closer to a fit on every row, at a linear extra cost: on a 1M-row Adult-shaped "
        "table, quality_score 0.9969 instead of 0.9952 against 0.9973 on every row, for about twice the fit time).",
    )


def _sdv_linear() -> bool:
    return Field(  # type: ignore[no-any-return]
        default=True,
        description="Model a numerical column as its residual from a least-squares line in at most three "
        "earlier numerical columns when that line explains at least 81% of its variance (cart's `linear`): the "
        "model draws the residual and the line is added back, at a child's given parent values too (a line "
        "price and its product's list price: r 0.997 kept instead of the copula's 0.89).",
    )


class GaussianCopulaParams(ModelParams):
    default_distribution: Literal["norm", "beta", "truncnorm", "uniform", "gamma", "gaussian_kde"] | None = Field(
        None, description="Marginal distribution fitted to numerical columns (SDV default: beta).")
    enforce_min_max_values: bool = Field(True, description="Clip numerical columns to the real range (a column drawn off a line, see `linear`: its residual; the value itself within a range's width beyond it).")
    linear: bool = _sdv_linear()


class NeuralParams(ModelParams):
    epochs: int = Field(300, ge=1, description="Training epochs.")
    batch_size: int = Field(500, ge=10, description="Rows per batch (a multiple of 10 for CTGAN).")
    verbose: bool = Field(False, description="Print SDV's own training log.")
    linear: bool = _sdv_linear()


class DPBayesParams(ModelParams):
    degree: int = Field(default=2, ge=2, le=3, description="Most columns in one measured marginal (2: pairs; 3: also triples).")
    bins: int = Field(default=16, ge=2, le=256, description="Most cells a column is reduced to for modelling (numerical ranges merged by noisy mass, rare categories grouped).")
    min_mass: float = Field(default=3.0, ge=0.0, description="A coarse cell must hold this many noise scales of rows (fewer cells when epsilon is small).")
    rounds: int | None = Field(default=None, ge=0, description="Marginals selected and measured after the one-way histograms (default: one per column).")
    selection_share: float = Field(default=0.1, gt=0.0, lt=1.0, description="Share of each round's epsilon spent on choosing the marginal.")
    max_model_cells: int = Field(default=200_000, ge=1000, description="Cap on the junction tree's total cells (fit time and memory).")
    max_noise_share: float = Field(default=1.0, gt=0.0, description="Skip marginals whose expected noise exceeds this share of the row count.")
    adaptive: bool = Field(default=False, description="Run fewer, stronger selection rounds when rows x epsilon is small.")
    anneal: bool = Field(default=False, description="Double a round's budget when its measurement taught the model little (AIM-style annealing).")
    oneway: float = Field(default=1.0, gt=0, description="Budget of each one-way histogram relative to one selected marginal's measurement.")
    iterations: int = Field(default=50, ge=1, description="Mirror-descent steps after each round.")
    final_iterations: int = Field(default=300, ge=1, description="Mirror-descent steps of the final fit.")
    target: str | None = Field(
        default=None,
        description="A column the synthetic rows will be used to predict (a label, an outcome): its pairs with "
        "every other column are measured first, at twice a round's budget, chosen by the spec instead of by a "
        "private selection, so every run knows how each column bears on it (Adult, income at epsilon 1: TSTR "
        "AUC run-to-run sd 0.0058 -> 0.0031, mean 0.886 -> 0.892; BENCHMARKS.md).",
    )


@dataclass(frozen=True)
class BuiltinModel:
    module: str
    params: type[ModelParams]
    cost: int
    differentially_private: bool = False
    #: Bumped when the algorithm changes what a fit learns, so models cached by an earlier
    #: synthspec are retrained (it enters the training fingerprint when above 1).
    revision: int = 1


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "cart": BuiltinModel("synthspec.models.cart", CartParams, cost=1, revision=9),  # 2: target-ordered categories, smoothing 0.25, linear parts; 3: own binned trees; 4: common values of columns under sqrt(n) values not blurred, lines in up to 3 columns, whole numbers rounded, systematic donor samples; 5: centres; 6: centres of ordered categories; 7: common values of every column not blurred, blurred values on their donors' grids; 8: bounds (a column never below / above an earlier one stays so; a tight one drawn as the gap); 9: bounds judged against chance, not by their gaps; sentinels (a renovation year of 0) exempt
    "dp_bayes": BuiltinModel("synthspec.models.dp_bayes", DPBayesParams, cost=5, differentially_private=True),
    # 2: a child table's model also learns its parents' attributes (drawn given them by matching);
    # 3: lines (numerical columns nearly linear in earlier ones drawn as residuals)
    "gaussian_copula": BuiltinModel("synthspec.models.sdv_models", GaussianCopulaParams, cost=20, revision=3),
    "tvae": BuiltinModel("synthspec.models.sdv_models", NeuralParams, cost=90, revision=3),
    "ctgan": BuiltinModel("synthspec.models.sdv_models", NeuralParams, cost=100, revision=3),
    "copulagan": BuiltinModel("synthspec.models.sdv_models", NeuralParams, cost=110, revision=3),
}
