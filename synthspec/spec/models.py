"""The spec language: the project file and the table spec, as pydantic models.

Every field carries a description: it becomes the JSON Schema that editors use for
completion and tooltips (``synthspec schema``). Unknown keys are errors (``extra="forbid"``).

Numbers are total: NaN and ±inf are refused everywhere (a NaN threshold passes every value), as
are ``null``, ``true``/``false`` and text that is not a number in a numeric field (an
interpolated ``${VAR}`` included). Messages never echo the refused value.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from synthspec.metrics.registry import METRICS

IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"

ColumnType = Literal["id", "numerical", "categorical", "boolean", "datetime", "text"]
PiiPolicy = Literal["keep", "drop", "hash", "fake", "mask", "generalize"]
Severity = Literal["error", "warn"]
NotEvaluated = Literal["block", "allow"]
RareReplace = Literal["token", "sample"]

#: Rare-value protection's defaults (see ``synthspec.engine.rare``): a category held by fewer
#: than 5 real rows is never published (MOSTLY AI's rare-category protection uses 5 too).
DEFAULT_RARE_MIN_COUNT = 5
DEFAULT_RARE_TOKEN = "_RARE_"

_NULL = "null is not allowed here; delete the key to leave it unset"


def _number(value: Any) -> Any:
    """Refuse what pydantic's lax mode would turn into a number or leave unset by accident."""
    if value is None:
        raise ValueError(_NULL)
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError(_NULL)
    return value


def _no_null_schema(schema: dict[str, Any]) -> None:
    """The field's JSON Schema without its `null` option (null is refused: leave the key out)."""
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option != {"type": "null"}]
        if len(options) == 1:
            del schema["anyOf"]
            schema.update(options[0])
        else:
            schema["anyOf"] = options
    if "default" in schema and schema["default"] is None:
        del schema["default"]


_NO_NULL_SCHEMA = Field(json_schema_extra=_no_null_schema)
#: Optional numbers: unset by leaving the key out, never by ``null`` (the schema says so too).
OptFloat = Annotated[float | None, BeforeValidator(_number), _NO_NULL_SCHEMA]
OptInt = Annotated[int | None, BeforeValidator(_number), _NO_NULL_SCHEMA]
Float = Annotated[float, BeforeValidator(_number)]
Int = Annotated[int, BeforeValidator(_number)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- table spec


class SourceSpec(StrictModel):
    """Where the real rows come from: exactly one of table, query or path."""

    table: str | None = Field(None, description="A table or view in the source DuckDB database, e.g. `raw.customers`.")
    query: str | None = Field(None, description="A SQL query run against the source DuckDB database.")
    path: str | None = Field(None, description="A Parquet or CSV file or glob (e.g. `data/customers/*.parquet`), read through DuckDB; relative to the project directory.")
    header: bool | None = Field(None, description="CSV `path` only: `false` when the files have no header row (columns are then named column0, column1, ...), `true` when they do; default: DuckDB detects it.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceSpec:
        given = [k for k in ("table", "query", "path") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("source needs exactly one of 'table', 'query' or 'path'" + (f" (got {', '.join(given)})" if given else ""))
        if self.header is not None and not (self.path or "").lower().endswith((".csv", ".csv.gz", ".tsv")):
            raise ValueError("'header' applies to a CSV `path` only")
        return self


class RareSpec(StrictModel):
    """Rare-value protection of categorical columns: a category held by fewer than `min_count`
    real rows is pooled before any model sees it, so it is never published verbatim."""

    min_count: OptInt = Field(None, ge=1, le=1_000_000, description=f"A category held by fewer real rows than this is protected (default {DEFAULT_RARE_MIN_COUNT}; 1 turns protection off, which a project guardrail `rare_min_count` can forbid).")
    replace: RareReplace | None = Field(None, description="What a protected value becomes: `token` (the `token` text; VARCHAR columns without declared `values` only) or `sample` (a value drawn from the column's frequent values, in proportion to their counts). Default: `token` where the column can hold it, else `sample`.")
    token: Annotated[str | None, Field(min_length=1, max_length=64), _NO_NULL_SCHEMA] = Field(None, description=f"The text protected values become with `replace: token` (default `{DEFAULT_RARE_TOKEN}`).")


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
    gender: str | None = Field(None, description="`pii: fake` with a name provider (first_name, last_name, name, prefix, middle_name): the column holding each row's sex or gender; the row's fake name follows it (a female first name where it says F, female, woman...). Other values (and numeric codes, which are never guessed) give a name of either gender.")
    locale_from: str | None = Field(None, description="`pii: fake`: the column holding each row's country (an English or local name, or an ISO 3166 alpha-2/alpha-3 code: `Germany`, `DE`, `DEU`); the row's fake is drawn in that country's Faker locale (a German city next to Germany). Unknown countries use `locale` (default en_US).")
    name_from: str | list[str] | None = Field(None, description="`pii: fake` with an e-mail or user-name provider (email, safe_email, free_email, company_email, user_name): build the value from the row's fake name in these columns, a full name or first and last name in that order, e.g. `[FirstName, LastName]` gives `jane.rivera@example.org`.")
    min: Annotated[int | float | str | None, _NO_NULL_SCHEMA] = Field(None, description="Lower bound of the column's domain (number, or ISO date/datetime for datetimes, e.g. 2020-01-01).")
    max: Annotated[int | float | str | None, _NO_NULL_SCHEMA] = Field(None, description="Upper bound of the column's domain (number, or ISO date/datetime for datetimes, e.g. 2020-01-01).")
    values: list[str | int | float | bool] | None = Field(None, description="The allowed categories.")
    domain: Literal["public", "data"] | None = Field(None, description="`public`: min/max/values are public knowledge (a reviewed claim). `data`: derived from the data by `init` (refused by DP models).")
    secret_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Environment variable holding the secret key of `pii: hash`/`fake` (default: the project's `privacy.secret_env`).")
    keep_last: OptInt = Field(None, ge=0, le=32, description="`pii: mask`: how many trailing characters stay visible (default 4).")
    width: OptFloat = Field(None, gt=0, description="`pii: generalize` on numbers: bin width (values become the bin's lower edge; a lowest bin starting below the column type's range takes the first edge inside it); on an integer or DECIMAL column, with no more decimal places than the column holds.")
    truncate: Literal["year", "quarter", "month", "week", "day", "hour"] | None = Field(None, description="`pii: generalize` on datetimes: truncate to this unit.")
    format: str | None = Field(None, min_length=1, max_length=64, description="How a text (VARCHAR) column stores a datetime or a boolean. Datetime: the strftime format of the source's text, e.g. `%Y-%m-%d %H:%M:%S` (`%-d`: no zero padding); modelled as a point in time, published as text in this format. Boolean: the two spellings, true first, e.g. `Y/N` or `yes/no`. `init` drafts it when every value reads that way.")
    rare: Annotated[RareSpec | None, BeforeValidator(_not_null), _NO_NULL_SCHEMA] = Field(None, description="This column's rare-value protection (categorical columns); keys left out come from the table's `rare:`, then the defaults.")

    @field_validator("min", "max", mode="before")
    @classmethod
    def _bound(cls, value: Any) -> Any:
        """A finite number or an ISO date/datetime; text that reads as a number (an interpolated
        ``${VAR}``) becomes one, so a non-finite one cannot slip through as text."""
        value = _number(value)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                if iso_moment(value) is None:
                    raise ValueError("must be a number, or an ISO date or datetime such as 2020-01-01 (datetime columns)") from None
                return value
        if isinstance(value, (int, float)) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        for key in ("min", "max"):
            bound = getattr(self, key)
            if self.type == "datetime" and isinstance(bound, (int, float)):
                raise ValueError(f"'{key}' of a datetime column must be an ISO date or datetime such as 2020-01-01")
            if self.type == "numerical" and isinstance(bound, str):
                raise ValueError(f"'{key}' of a numerical column must be a number")
        if self.pii == "keep" and not self.reason:
            raise ValueError("'pii: keep' requires a 'reason'")
        if self.faker is not None and self.pii != "fake":
            raise ValueError("'faker' is only valid with 'pii: fake'")
        if self.pii == "fake" and not self.faker:
            raise ValueError("'pii: fake' needs a Faker provider in 'faker' (e.g. name, email)")
        if self.locale is not None and self.pii != "fake":
            raise ValueError("'locale' is only valid with 'pii: fake'")
        self._row_context_consistent()
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
            if self.type == "numerical" and self.truncate is not None:
                raise ValueError("'truncate' generalizes a datetime column: a numerical column takes 'width'")
            if self.type == "datetime" and self.width is not None:
                raise ValueError("'width' generalizes a numerical column: a datetime column takes 'truncate'")
        if self.format is not None:
            if self.type == "datetime" and "%" not in self.format:
                raise ValueError("'format' of a datetime column is a strftime format such as \"%Y-%m-%d\"")
            if self.type == "boolean" and len(boolean_spellings(self.format)) != 2:
                raise ValueError("'format' of a boolean column is its two spellings, true first, e.g. \"Y/N\"")
            if self.type not in ("datetime", "boolean"):
                raise ValueError("'format' is only valid for datetime and boolean columns stored as text")
        if self.values is not None and self.type not in ("categorical", "boolean"):
            raise ValueError("'values' is only valid for categorical and boolean columns")
        if self.primary_key and self.type not in ("id", "text", "numerical"):
            raise ValueError("a primary key must be of type id")
        return self


    @property
    def name_from_columns(self) -> list[str]:
        """`name_from` as a list (one column or several)."""
        if self.name_from is None:
            return []
        return [self.name_from] if isinstance(self.name_from, str) else list(self.name_from)

    def _row_context_consistent(self) -> None:
        """`gender`, `locale_from` and `name_from` only where they change what is drawn."""
        from synthspec.privacy.consistency import FROM_NAME_DOMAINS, GENDERED_PROVIDERS

        for key in ("gender", "locale_from", "name_from"):
            if getattr(self, key) is not None and self.pii != "fake":
                raise ValueError(f"'{key}' is only valid with 'pii: fake'")
        if self.gender is not None and self.faker not in GENDERED_PROVIDERS:
            raise ValueError(f"'gender' applies to the name providers {', '.join(sorted(GENDERED_PROVIDERS))}, "
                             f"not '{self.faker}'")
        if self.name_from is not None:
            if self.faker not in FROM_NAME_DOMAINS:
                raise ValueError(f"'name_from' applies to the providers {', '.join(sorted(FROM_NAME_DOMAINS))}, "
                                 f"not '{self.faker}'")
            if not self.name_from_columns:
                raise ValueError("'name_from' needs at least one column")


def boolean_spellings(fmt: str) -> tuple[str, ...]:
    """The (true, false) spellings of a boolean ``format`` such as ``Y/N`` (empty if malformed)."""
    parts = tuple(fmt.split("/"))
    return parts if len(parts) == 2 and all(parts) and parts[0] != parts[1] else ()


#: The training rows a model that is not differentially private is fitted on at most, unless the
#: spec says otherwise (``model: {max_training_rows: N}``; engine/subsample.py, docs/scale.md).
DEFAULT_MAX_TRAINING_ROWS = 200_000


class ModelSpec(StrictModel):
    """Which synthesizer to train and how."""

    type: str = Field("auto", description="Synthesizer name: auto, cart, gaussian_copula, ... (`auto` picks among registered models).")
    seed: Int = Field(42, ge=0, description="Seed of the training split, the model and sampling: same spec + data + seed gives the same rows.")
    params: dict[str, Any] = Field(default_factory=dict, description="Model parameters, validated per model type.")
    max_training_rows: OptInt = Field(
        None, ge=0, description=f"Most training rows the model is fitted on. Above it, the model is fitted on a seeded "
        f"subsample of the training split that keeps every value of every categorical column (and nulls, and each "
        f"numerical column's extremes); the holdout and the privacy checks still use the whole split. Omitted: "
        f"{DEFAULT_MAX_TRAINING_ROWS:,} for a model that is not differentially private, no cap for one that is. "
        f"0: no cap (fit on every training row). A differentially private model with a cap is fitted on a uniform "
        f"(unstratified) subsample.")


class InequalityConstraint(StrictModel):
    """`low <= high` on every synthetic row."""

    type: Literal["inequality"] = Field(description="Constraint kind.")
    low: str = Field(description="Column that must be less than or equal to `high`; `<fk>.<column>` names a column of the row a foreign key points to (e.g. `customer_id.signup_date`).")
    high: str = Field(description="Column that must be greater than or equal to `low`; may be `<fk>.<column>` like `low`.")


class PrivacySpec(StrictModel):
    """Differential privacy and disclosure-risk settings."""

    epsilon: OptFloat = Field(None, gt=0, description="DP budget of one training run; requires a differentially private model.")
    delta: OptFloat = Field(None, ge=0, lt=1, description="DP delta of one training run.")
    max_total_epsilon: OptFloat = Field(None, gt=0, description="Cap on epsilon spent on this source across runs.")
    quasi_identifiers: list[str] = Field(default_factory=list, description="Columns an attacker may know; used by k_anonymity and re-identification risk.")


class CheckSpec(StrictModel):
    """A threshold on one metric. `severity: warn` reports without failing the gate."""

    min: OptFloat = Field(None, description="Fail when the metric is below this.")
    max: OptFloat = Field(None, description="Fail when the metric is above this.")
    min_relative: OptFloat = Field(None, gt=0, le=2, description="quality_score, column_shapes and column_pair_trends: fail when the synthetic score is below this fraction of what real data scores at the same size (the holdout against the training rows; the synthetic rows are subsampled to the holdout's size). E.g. 0.9: synthetic quality at least 90% of real-vs-real quality. Needs a holdout.")
    severity: Severity = Field("error", description="`error` fails the gate; `warn` only reports.")
    not_evaluated: Annotated[NotEvaluated | None, BeforeValidator(_not_null), _NO_NULL_SCHEMA] = Field(
        None, description="When the metric cannot be computed (e.g. too few rows for a holdout): `block` publishing "
                          "(the default, also set project-wide by `gate.not_evaluated`) or `allow` it. A check a "
                          "project guardrail covers blocks unless the guardrail itself says `allow`.")
    target: Annotated[str | None, BeforeValidator(_not_null), _NO_NULL_SCHEMA] = Field(None, description="ml_efficacy only: the modelled column the models learn to predict.")
    decide: Annotated[Literal["interval", "value"] | None, BeforeValidator(_not_null), _NO_NULL_SCHEMA] = Field(
        None, description="For a metric with an interval: `interval` fails the check only when its whole 90% interval is on the "
                          "wrong side of the threshold, `value` compares the point estimate (default: the project's `gate.decide`, "
                          "itself `interval`). A guardrail or a check saying `value` makes the effective check `value`.")

    @model_validator(mode="after")
    def _bounds(self) -> CheckSpec:
        if self.min is None and self.max is None and self.min_relative is None:
            raise ValueError("a check needs 'min', 'max' or 'min_relative'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is greater than 'max'")
        return self

    def under(self, floor: CheckSpec) -> CheckSpec:
        """This check with a guardrail on top: the tighter bound of each, severity error when
        the guardrail's is, and `not_evaluated: block` unless the guardrail allows it."""
        low = [b for b in (self.min, floor.min) if b is not None]
        high = [b for b in (self.max, floor.max) if b is not None]
        relative = [b for b in (self.min_relative, floor.min_relative) if b is not None]
        return CheckSpec.model_construct(
            min=max(low) if low else None, max=min(high) if high else None,
            min_relative=max(relative) if relative else None,
            severity="error" if floor.severity == "error" else self.severity,
            not_evaluated=self.not_evaluated if floor.not_evaluated == "allow" else "block",
            target=self.target if self.target is not None else floor.target,
            decide="value" if "value" in (self.decide, floor.decide) else (self.decide or floor.decide),
        )


_OptCheck = Annotated[CheckSpec | None, _NO_NULL_SCHEMA]


def _check(name: str) -> Any:
    return Field(None, description=METRICS[name].description)


class Checks(StrictModel):
    """Acceptance thresholds, one key per metric. A check is removed by deleting its key
    (built-in defaults, project defaults and guardrails still apply)."""

    # One key per metric of synthspec.metrics.registry, whose declarations give the descriptions.

    quality_score: _OptCheck = _check("quality_score")
    column_shapes: _OptCheck = _check("column_shapes")
    column_pair_trends: _OptCheck = _check("column_pair_trends")
    ks_complement: _OptCheck = _check("ks_complement")
    tv_complement: _OptCheck = _check("tv_complement")
    correlation_distance: _OptCheck = _check("correlation_distance")
    boundary_adherence: _OptCheck = _check("boundary_adherence")
    category_adherence: _OptCheck = _check("category_adherence")
    key_uniqueness: _OptCheck = _check("key_uniqueness")
    referential_integrity: _OptCheck = _check("referential_integrity")
    cardinality: _OptCheck = _check("cardinality")
    ml_efficacy: _OptCheck = _check("ml_efficacy")
    dcr_share: _OptCheck = _check("dcr_share")
    nndr: _OptCheck = _check("nndr")
    exact_match_rate: _OptCheck = _check("exact_match_rate")
    membership_inference_auc: _OptCheck = _check("membership_inference_auc")
    k_anonymity: _OptCheck = _check("k_anonymity")
    reidentification_risk: _OptCheck = _check("reidentification_risk")
    real_row_matches: _OptCheck = _check("real_row_matches")
    pii_leakage: _OptCheck = _check("pii_leakage")
    epsilon_spent: _OptCheck = _check("epsilon_spent")

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        # `dcr_share: null` used to drop a check silently (and with it a guardrail's floor).
        if value is None:
            raise ValueError("null is not a check; to remove a check, delete it (built-in defaults, project defaults "
                             "and guardrails still apply); to report it without failing, set `severity: warn`")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _relative_needs_a_baseline(cls, value: Any, info: Any) -> Any:
        if isinstance(value, CheckSpec) and value.min_relative is not None and not METRICS[info.field_name].relative:
            having = ", ".join(name for name, metric in METRICS.items() if metric.relative)
            raise ValueError(f"'min_relative' needs a metric real data scores too ({having}); use 'min' or 'max'")
        return value

    def items(self) -> list[tuple[str, CheckSpec]]:
        return [(name, spec) for name in type(self).model_fields if (spec := getattr(self, name)) is not None]


if set(Checks.model_fields) != set(METRICS):  # one declaration per metric: the registry
    raise RuntimeError("spec.models.Checks and metrics.registry.METRICS name different metrics")


def iso_moment(text: str) -> dt.datetime | None:
    """``text`` as an ISO date or datetime (as ``engine.columns.bound`` reads it), or None."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


class SequenceSpec(StrictModel):
    """A child table drawn as a sequence of events per parent."""

    order_by: str = Field(description="The datetime or numerical column ordering each parent's rows (its first reference to "
                          "another table is the parent).")
    draw: Literal["events", "sorted"] = Field("events", description="`events`: event by event, each `order_by` the previous one's "
                                              "plus a drawn gap (keeps schedules and gaps); `sorted`: every row drawn given its "
                                              "parent, position and sequence length, then each parent's `order_by` values sorted "
                                              "(events that are independent draws over a window).")


class TableSpec(StrictModel):
    """One table to synthesize (`specs/<table>.yml`)."""

    version: Literal[1] = Field(description="Spec format version.")
    table: Annotated[str, Field(pattern=IDENT)] = Field(description="Published as `<target.schema>.<table>`.")
    description: str | None = Field(None, description="Free text; becomes the dbt source table description.")
    tags: list[str] = Field(default_factory=list, description="Labels for `--select tag:x`.")
    source: SourceSpec = Field(description="Where the real rows come from.")
    rows: OptInt = Field(None, gt=0, description="Synthetic row count (default: the source's row count; a table with references: that "
                        "count scaled as its first referenced table's was).")
    scale: OptFloat = Field(None, gt=0, description="Synthetic row count as a multiple of the source's.")
    holdout: Float = Field(0.2, gt=0, lt=0.9, description="Fraction of source rows kept out of training, for privacy and utility checks.")
    model: ModelSpec = Field(default_factory=ModelSpec, description="The synthesizer.")
    columns: dict[str, ColumnSpec] = Field(description="Every source column, declared (undeclared or missing columns are errors).")
    constraints: list[InequalityConstraint] = Field(default_factory=list, description="Rules every synthetic row satisfies.")
    privacy: PrivacySpec = Field(default_factory=PrivacySpec, description="Differential privacy and disclosure risk.")
    checks: Checks = Field(default_factory=Checks, description="Acceptance thresholds: the gate.")
    rare: RareSpec = Field(default_factory=RareSpec, description="Rare-value protection of every categorical column of the table (a column's own `rare:` wins key by key).")
    sequence: SequenceSpec | None = Field(None, description="Draw the rows of each parent as an ordered sequence of events "
                                          "(orders of a customer, visits of a patient).")

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

    @model_validator(mode="after")
    def _distinct_names(self) -> DuckDBTarget:
        # DuckDB names a file's catalog after the file: `synthetic.duckdb` holding schema
        # `synthetic` makes `synthetic.t` ambiguous, for synthspec and for every dbt model.
        stem = self.duckdb.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0]
        if stem.lower() == self.schema_.lower():
            raise ValueError(f"the target file and the schema are both named '{self.schema_}': DuckDB names a file's "
                             "catalog after the file, so `<schema>.<table>` would be ambiguous; rename the file or the schema")
        return self


class Defaults(StrictModel):
    """Merged under every spec (the spec wins key by key)."""

    model: dict[str, Any] | None = Field(None, description="Default `model:` block.")
    checks: dict[str, Any] | None = Field(None, description="Default `checks:` block.")
    privacy: dict[str, Any] | None = Field(None, description="Default `privacy:` block.")
    holdout: OptFloat = Field(None, description="Default holdout fraction.")
    tags: list[str] | None = Field(None, description="Default tags.")
    rare: dict[str, Any] | None = Field(None, description="Default `rare:` block (rare-value protection).")


class Guardrails(StrictModel):
    """Privacy floors that no spec can loosen."""

    checks: Checks = Field(default_factory=Checks, description="Thresholds a spec may tighten but not loosen: they apply on top of every other threshold (the tighter wins), with severity error, to every table that can compute the metric.")
    forbid_keep: list[str] = Field(default_factory=list, description="PII entities that may never use `pii: keep`.")
    allowed_policies: list[PiiPolicy] | None = Field(None, description="The only PII policies specs may use.")
    max_epsilon: OptFloat = Field(None, gt=0, description="Largest epsilon a spec may set.")
    max_total_epsilon: OptFloat = Field(None, gt=0, description="Cap on the epsilon spent on any source relation across runs, whatever the specs say: a spec may set a lower `privacy.max_total_epsilon`, never a higher one, and a DP spec without one is capped here.")
    rare_min_count: OptInt = Field(None, ge=1, le=1_000_000, description="Smallest `rare.min_count` any table or column may use: a spec setting a lower one fails, and the engine protects at least this (DP models excepted, see the README).")


class GateSpec(StrictModel):
    """How the gate treats checks whose metric cannot be computed."""

    not_evaluated: NotEvaluated = Field("block", description="Default of every check's `not_evaluated`: `block` (publish nothing when an error-severity check cannot be evaluated) or `allow`. Checks a guardrail covers always block unless the guardrail says `allow`.")
    decide: Literal["interval", "value"] = Field("interval", description="How a check with a sampled metric (one that reports an interval) is decided: `interval` (default) fails it only when its whole 90% interval lies on the wrong side of the threshold, so a small table does not fail on noise while a clear regression still does; `value` compares the point estimate alone. Counts and exact quantities (pii_leakage, key_uniqueness, real_row_matches...) are always judged on their value.")
    tiny_tables: Literal["replace", "block"] = Field("replace", description="Tables too small for a holdout of 5 rows (fewer than 23 rows at the default holdout 0.2): `replace` (default) trains on every row and replaces the checks of estimated metrics (quality, holdout metrics) by `real_row_matches: {max: 0}`, which a tiny table can compute, so it publishes without any real row; those checks are `not_evaluated` and do not block unless a guardrail covers them. `block`: they block as any check that cannot be evaluated.")


class ProjectPrivacy(StrictModel):
    """Project-wide privacy settings."""

    secret_env: str = Field("SYNTHSPEC_SECRET", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Environment variable holding the secret of `pii: hash`/`fake` (never a default value: a missing secret is an error).")
    secret_envs: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]] = Field(default_factory=list, description="Further environment variables holding secret keys that a column's `secret_env` may name (a spec chooses among the project's secrets, never any variable of the environment).")
    ledger: str | None = Field(None, description="The machine budget ledger: an append-only file outside the project that keeps the differential-privacy budget spent per source (default: $SYNTHSPEC_LEDGER, else $XDG_STATE_HOME/synthspec/budget_ledger.jsonl). Put it on durable storage in CI.")


class ProjectConfig(StrictModel):
    """The project file `synthspec.yml`."""

    name: str = Field(description="Project name.")
    source: DuckDBSource | None = Field(None, description="Source database (needed by specs with `source.table` or `source.query`).")
    target: DuckDBTarget = Field(description="Where synthetic tables are published.")
    specs: str = Field("specs/", description="Directory of table specs.")
    spec_variables: list[str] = Field(default_factory=list, description="Environment variables that specs may interpolate as `${VAR}` (default: none; the project file itself may use any). The secret of `pii: hash`/`fake` can never be one.")
    source_roots: list[str] = Field(default_factory=list, description="Directories outside the project directory that a spec's `source.path` may read (default: none; paths resolve inside the project, symbolic links included).")
    state_dir: str = Field(".synthspec", description="State: model cache and salt (gitignored).")
    target_dir: str = Field("target", description="Reports of the last run (gitignored).")
    keep_versions: Int = Field(2, ge=2, le=50, description="Published versions kept per table (current plus previous for rollback).")
    defaults: Defaults = Field(default_factory=Defaults, description="Merged under every spec.")
    guardrails: Guardrails = Field(default_factory=Guardrails, description="Privacy floors no spec can loosen.")
    privacy: ProjectPrivacy = Field(default_factory=ProjectPrivacy, description="Project-wide privacy settings.")
    gate: GateSpec = Field(default_factory=GateSpec, description="How the gate treats checks that cannot be evaluated.")
