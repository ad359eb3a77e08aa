"""The spec language: the project file and the table spec, as pydantic models.

Every field carries a description: it becomes the JSON Schema that editors use for
completion and tooltips (``synthspec schema``). Unknown keys are errors (``extra="forbid"``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"

ColumnType = Literal["id", "numerical", "categorical", "boolean", "datetime", "text"]
PiiPolicy = Literal["keep", "drop", "hash", "fake", "mask", "generalize"]
Severity = Literal["error", "warn"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------- table spec


class SourceSpec(StrictModel):
    """Where the real rows come from: exactly one of table, query or path."""

    table: str | None = Field(None, description="A table or view in the source DuckDB database, e.g. `raw.customers`.")
    query: str | None = Field(None, description="A SQL query run against the source DuckDB database.")
    path: str | None = Field(None, description="A Parquet or CSV file or glob (e.g. `data/customers/*.parquet`), read through DuckDB; relative to the project directory.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceSpec:
        given = [k for k in ("table", "query", "path") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("source needs exactly one of 'table', 'query' or 'path'" + (f" (got {', '.join(given)})" if given else ""))
        return self


class ColumnSpec(StrictModel):
    """One source column: its semantic type, privacy policy and declared domain."""

    type: ColumnType = Field(description="Semantic type: id, numerical, categorical, boolean, datetime or text.")
    description: str | None = Field(None, description="Free text; becomes the dbt column description.")
    primary_key: bool = Field(False, description="Unique key of the table; generated in the source's format, never learnt.")
    references: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$", description="Foreign key as `table.column` (another spec's table).")
    pii: PiiPolicy | None = Field(None, description="PII policy: keep (needs `reason`), drop, hash, fake, mask or generalize.")
    reason: str | None = Field(None, description="Why a PII column is kept as is (required with `pii: keep`).")
    faker: str | None = Field(None, description="Faker provider for `pii: fake`, e.g. `name`, `email`.")
    locale: str | None = Field(None, description="Faker locale for `pii: fake`, e.g. `tr_TR`.")
    min: float | int | str | None = Field(None, description="Lower bound of the column's domain (number, or ISO date for datetimes).")
    max: float | int | str | None = Field(None, description="Upper bound of the column's domain (number, or ISO date for datetimes).")
    values: list[str | int | float | bool] | None = Field(None, description="The allowed categories.")
    domain: Literal["public", "data"] | None = Field(None, description="`public`: min/max/values are public knowledge (a reviewed claim). `data`: derived from the data by `init` (refused by DP models).")
    secret_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Environment variable holding the secret key of `pii: hash`/`fake` (default: the project's `privacy.secret_env`).")
    keep_last: int | None = Field(None, ge=0, le=32, description="`pii: mask`: how many trailing characters stay visible (default 4).")
    width: float | None = Field(None, gt=0, description="`pii: generalize` on numbers: bin width (values become the bin's lower edge).")
    truncate: Literal["year", "quarter", "month", "week", "day", "hour"] | None = Field(None, description="`pii: generalize` on datetimes: truncate to this unit.")

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if self.pii == "keep" and not self.reason:
            raise ValueError("'pii: keep' requires a 'reason'")
        if self.faker is not None and self.pii != "fake":
            raise ValueError("'faker' is only valid with 'pii: fake'")
        if self.pii == "fake" and not self.faker:
            raise ValueError("'pii: fake' needs a Faker provider in 'faker' (e.g. name, email)")
        if self.locale is not None and self.pii != "fake":
            raise ValueError("'locale' is only valid with 'pii: fake'")
        if self.secret_env is not None and self.pii not in ("hash", "fake"):
            raise ValueError("'secret_env' is only valid with 'pii: hash' or 'pii: fake'")
        if self.keep_last is not None and self.pii != "mask":
            raise ValueError("'keep_last' is only valid with 'pii: mask'")
        if (self.width is not None or self.truncate is not None) and self.pii != "generalize":
            raise ValueError("'width' and 'truncate' are only valid with 'pii: generalize'")
        if self.pii == "generalize":
            if self.type == "numerical" and self.width is None:
                raise ValueError("'pii: generalize' on a numerical column needs 'width'")
            if self.type == "datetime" and self.truncate is None:
                raise ValueError("'pii: generalize' on a datetime column needs 'truncate'")
            if self.type not in ("numerical", "datetime"):
                raise ValueError("'pii: generalize' applies to numerical and datetime columns")
        if self.values is not None and self.type not in ("categorical", "boolean"):
            raise ValueError("'values' is only valid for categorical and boolean columns")
        if self.primary_key and self.type not in ("id", "text", "numerical"):
            raise ValueError("a primary key must be of type id")
        return self


class ModelSpec(StrictModel):
    """Which synthesizer to train and how."""

    type: str = Field("auto", description="Synthesizer name: auto, cart, gaussian_copula, ... (`auto` picks among registered models).")
    seed: int = Field(42, ge=0, description="Seed of the training split, the model and sampling: same spec + data + seed gives the same rows.")
    params: dict[str, Any] = Field(default_factory=dict, description="Model parameters, validated per model type.")


class InequalityConstraint(StrictModel):
    """`low <= high` on every synthetic row."""

    type: Literal["inequality"] = Field(description="Constraint kind.")
    low: str = Field(description="Column that must be less than or equal to `high`; `<fk>.<column>` names a column of the row a foreign key points to (e.g. `customer_id.signup_date`).")
    high: str = Field(description="Column that must be greater than or equal to `low`; may be `<fk>.<column>` like `low`.")


class PrivacySpec(StrictModel):
    """Differential privacy and disclosure-risk settings."""

    epsilon: float | None = Field(None, gt=0, description="DP budget of one training run; requires a differentially private model.")
    delta: float | None = Field(None, ge=0, lt=1, description="DP delta of one training run.")
    max_total_epsilon: float | None = Field(None, gt=0, description="Cap on epsilon spent on this source across runs.")
    quasi_identifiers: list[str] = Field(default_factory=list, description="Columns an attacker may know; used by k_anonymity and re-identification risk.")


class CheckSpec(StrictModel):
    """A threshold on one metric. `severity: warn` reports without failing the gate."""

    min: float | None = Field(None, description="Fail when the metric is below this.")
    max: float | None = Field(None, description="Fail when the metric is above this.")
    severity: Severity = Field("error", description="`error` fails the gate; `warn` only reports.")
    target: str | None = Field(None, description="ml_efficacy only: the modelled column the models learn to predict.")

    @model_validator(mode="after")
    def _bounds(self) -> CheckSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is greater than 'max'")
        return self


def _check(text: str) -> Any:
    return Field(None, description=text)


class Checks(StrictModel):
    """Acceptance thresholds. Every metric not listed here is still computed when cheap."""

    quality_score: CheckSpec | None = _check("SDMetrics QualityReport score (0-1, higher is better).")
    column_shapes: CheckSpec | None = _check("SDMetrics Column Shapes property (0-1).")
    column_pair_trends: CheckSpec | None = _check("SDMetrics Column Pair Trends property (0-1).")
    ks_complement: CheckSpec | None = _check("SDMetrics KSComplement, the lowest over numerical columns (0-1, higher is better; each column reported as `ks_complement:<column>`).")
    tv_complement: CheckSpec | None = _check("SDMetrics TVComplement, the lowest over categorical columns (0-1, higher is better; each column reported as `tv_complement:<column>`).")
    correlation_distance: CheckSpec | None = _check("Mean absolute difference of Pearson correlations over numerical column pairs, real vs synthetic (0-2, lower is better: gate with `max`).")
    boundary_adherence: CheckSpec | None = _check("SDMetrics BoundaryAdherence: share of synthetic values inside the real min/max, the lowest over numerical columns (0-1).")
    category_adherence: CheckSpec | None = _check("SDMetrics CategoryAdherence: share of synthetic values seen in the real data, the lowest over categorical columns (0-1).")
    key_uniqueness: CheckSpec | None = _check("Share of unique primary-key values.")
    referential_integrity: CheckSpec | None = _check("Share of foreign-key values that resolve (always checked at 1.0 on tables with references).")
    cardinality: CheckSpec | None = _check("Children-per-parent similarity, 1 - KS statistic (SDMetrics CardinalityShapeSimilarity); the lowest over the table's references.")
    ml_efficacy: CheckSpec | None = _check("Train-on-synthetic/test-on-real score over train-on-real/test-on-real on the holdout, capped to [0, 1]: ROC AUC (two classes), macro F1 (more) or R² (numerical target). Needs `target`.")
    dcr_share: CheckSpec | None = _check("Share of synthetic rows closer to a training row than to a holdout row (0.5 is ideal).")
    nndr: CheckSpec | None = _check("Nearest-neighbour distance ratio.")
    exact_match_rate: CheckSpec | None = _check("Share of synthetic rows identical to a training row.")
    membership_inference_auc: CheckSpec | None = _check("AUC of a distance-based membership attack.")
    k_anonymity: CheckSpec | None = _check("Smallest equivalence class over the quasi-identifiers in the output.")
    reidentification_risk: CheckSpec | None = _check("Share of synthetic rows whose quasi-identifiers single out one real training row.")
    pii_leakage: CheckSpec | None = _check("Real PII values found in the output.")
    epsilon_spent: CheckSpec | None = _check("Differential-privacy epsilon spent by the run.")

    def items(self) -> list[tuple[str, CheckSpec]]:
        return [(name, spec) for name in type(self).model_fields if (spec := getattr(self, name)) is not None]


class TableSpec(StrictModel):
    """One table to synthesize (`specs/<table>.yml`)."""

    version: Literal[1] = Field(description="Spec format version.")
    table: Annotated[str, Field(pattern=IDENT)] = Field(description="Published as `<target.schema>.<table>`.")
    description: str | None = Field(None, description="Free text; becomes the dbt source table description.")
    tags: list[str] = Field(default_factory=list, description="Labels for `--select tag:x`.")
    source: SourceSpec = Field(description="Where the real rows come from.")
    rows: int | None = Field(None, gt=0, description="Synthetic row count (default: the source's row count).")
    scale: float | None = Field(None, gt=0, description="Synthetic row count as a multiple of the source's.")
    holdout: float = Field(0.2, gt=0, lt=0.9, description="Fraction of source rows kept out of training, for privacy and utility checks.")
    model: ModelSpec = Field(default_factory=ModelSpec, description="The synthesizer.")
    columns: dict[str, ColumnSpec] = Field(description="Every source column, declared (undeclared or missing columns are errors).")
    constraints: list[InequalityConstraint] = Field(default_factory=list, description="Rules every synthetic row satisfies.")
    privacy: PrivacySpec = Field(default_factory=PrivacySpec, description="Differential privacy and disclosure risk.")
    checks: Checks = Field(default_factory=Checks, description="Acceptance thresholds: the gate.")

    @model_validator(mode="after")
    def _consistent(self) -> TableSpec:
        if self.rows is not None and self.scale is not None:
            raise ValueError("give 'rows' or 'scale', not both")
        if not self.columns:
            raise ValueError("'columns' must declare at least one column")
        return self


# --------------------------------------------------------------------------- project file


class DuckDBSource(StrictModel):
    duckdb: str = Field(description="Path of the source DuckDB file (read, never written), relative to the project.")


class DuckDBTarget(StrictModel):
    duckdb: str = Field(description="Path of the target DuckDB file, relative to the project. May be the source file.")
    schema_: str = Field("synthetic", alias="schema", pattern=IDENT, description="Schema of the published views.")


class Defaults(StrictModel):
    """Merged under every spec (the spec wins key by key)."""

    model: dict[str, Any] | None = Field(None, description="Default `model:` block.")
    checks: dict[str, Any] | None = Field(None, description="Default `checks:` block.")
    privacy: dict[str, Any] | None = Field(None, description="Default `privacy:` block.")
    holdout: float | None = Field(None, description="Default holdout fraction.")
    tags: list[str] | None = Field(None, description="Default tags.")


class Guardrails(StrictModel):
    """Privacy floors that no spec can loosen."""

    checks: dict[str, CheckSpec] = Field(default_factory=dict, description="Thresholds a spec may tighten but not loosen.")
    forbid_keep: list[str] = Field(default_factory=list, description="PII entities that may never use `pii: keep`.")
    allowed_policies: list[PiiPolicy] | None = Field(None, description="The only PII policies specs may use.")
    max_epsilon: float | None = Field(None, gt=0, description="Largest epsilon a spec may set.")


class ProjectPrivacy(StrictModel):
    """Project-wide privacy settings."""

    secret_env: str = Field("SYNTHSPEC_SECRET", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Environment variable holding the secret of `pii: hash`/`fake` (never a default value: a missing secret is an error).")
    ledger: str | None = Field(None, description="The machine budget ledger: an append-only file outside the project that keeps the differential-privacy budget spent per source (default: $SYNTHSPEC_LEDGER, else $XDG_STATE_HOME/synthspec/budget_ledger.jsonl). Put it on durable storage in CI.")


class ProjectConfig(StrictModel):
    """The project file `synthspec.yml`."""

    name: str = Field(description="Project name.")
    source: DuckDBSource | None = Field(None, description="Source database (needed by specs with `source.table` or `source.query`).")
    target: DuckDBTarget = Field(description="Where synthetic tables are published.")
    specs: str = Field("specs/", description="Directory of table specs.")
    source_roots: list[str] = Field(default_factory=list, description="Directories outside the project directory that a spec's `source.path` may read (default: none; paths resolve inside the project, symbolic links included).")
    state_dir: str = Field(".synthspec", description="State: model cache and salt (gitignored).")
    target_dir: str = Field("target", description="Reports of the last run (gitignored).")
    keep_versions: int = Field(2, ge=2, le=50, description="Published versions kept per table (current plus previous for rollback).")
    defaults: Defaults = Field(default_factory=Defaults, description="Merged under every spec.")
    guardrails: Guardrails = Field(default_factory=Guardrails, description="Privacy floors no spec can loosen.")
    privacy: ProjectPrivacy = Field(default_factory=ProjectPrivacy, description="Project-wide privacy settings.")
