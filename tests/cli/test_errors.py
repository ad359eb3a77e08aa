"""Every error a user can meet: exit code, one located line, no traceback, nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from synthspec.cli.main import cli
from tests.helpers import make_warehouse

pytestmark = pytest.mark.integration


def run(project: Path, *args: str):
    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project)], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def view_rows(project: Path) -> list[tuple]:
    con = duckdb.connect(str(project / "wh.duckdb"), read_only=True)
    try:
        return con.execute("SELECT * FROM synthetic.adult").fetchall()
    finally:
        con.close()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_validate_ok(adult_project):
    result = run(adult_project, "validate")
    assert result.exit_code == 0 and "1 spec(s) valid" in result.output


def test_malformed_yaml(adult_project):
    (adult_project / "specs" / "adult.yml").write_text("version: 1\ntable: adult\ncolumns: {age: [\n")
    result = run(adult_project, "validate")
    assert result.exit_code == 2
    assert result.output.startswith("specs/adult.yml:4:1: invalid YAML")


def test_unknown_key_with_suggestion(adult_project):
    edit(adult_project / "specs" / "adult.yml", "  seed: 7", "  sede: 7")
    result = run(adult_project, "plan")
    assert result.exit_code == 2
    assert "specs/adult.yml:7:3: unknown key 'model.sede'; did you mean 'seed'?" in result.output


def test_model_params_that_name_columns_are_checked(adult_project):
    """cart's visit_sequence and dp_bayes's target name columns: an unknown one is located at
    its own line, with a suggestion, before anything is read or trained."""
    edit(adult_project / "specs" / "adult.yml", "  seed: 7", "  seed: 7\n  params: {visit_sequence: [age, incom]}")
    result = run(adult_project, "validate")
    assert result.exit_code == 2
    assert "specs/adult.yml:8:34: model.params.visit_sequence column 'incom' is not a declared column; did you mean 'income'?" in result.output
    edit(adult_project / "specs" / "adult.yml", "  type: cart", "  type: dp_bayes")
    edit(adult_project / "specs" / "adult.yml", "{visit_sequence: [age, incom]}", "{target: incme}")
    result = run(adult_project, "validate")
    assert result.exit_code == 2
    assert "model.params.target 'incme' is not a declared column; did you mean 'income'?" in result.output
    edit(adult_project / "specs" / "adult.yml", "{target: incme}", "{target: income}")
    edit(adult_project / "specs" / "adult.yml", "  income: {type: categorical}", "  income: {type: categorical, pii: drop}")
    result = run(adult_project, "validate")
    assert result.exit_code == 2 and "model.params.target 'income' is not a modelled column: it is" in result.output


def test_wrong_type(adult_project):
    edit(adult_project / "specs" / "adult.yml", "  seed: 7", "  seed: seven")
    result = run(adult_project, "apply")
    assert result.exit_code == 2 and "specs/adult.yml:7:9: model.seed" in result.output


def test_missing_source_table(adult_project):
    edit(adult_project / "specs" / "adult.yml", "raw.adult", "raw.adults")
    result = run(adult_project, "apply")
    assert result.exit_code == 3
    assert "cannot read source table 'raw.adults'" in result.output


def test_undeclared_and_missing_columns(adult_project):
    edit(adult_project / "specs" / "adult.yml", "  income: {type: categorical}\n", "  incme: {type: categorical}\n")
    result = run(adult_project, "plan")
    assert result.exit_code == 2
    assert "source column 'income' (VARCHAR) is not declared in the spec; is 'incme' a misspelling?" in result.output
    assert "specs/adult.yml:23:3: column 'incme' is declared but missing from the source; did you mean 'income'?" in result.output


def test_unsupported_type_names_the_column(adult_project):
    con = duckdb.connect(str(adult_project / "wh.duckdb"))
    con.execute("CREATE TABLE raw.listy AS SELECT 1 AS id, [1, 2] AS tags")
    con.close()
    (adult_project / "specs" / "listy.yml").write_text(
        "version: 1\ntable: listy\nsource: {table: raw.listy}\ncolumns:\n  id: {type: id, primary_key: true}\n  tags: {type: categorical}\n"
    )
    result = run(adult_project, "apply", "--select", "listy")
    assert result.exit_code == 2
    assert "specs/listy.yml:6:3: column 'tags': source type INTEGER[] is not supported yet" in result.output


def test_type_mismatch(adult_project):
    edit(adult_project / "specs" / "adult.yml", "  sex: {type: categorical}", "  sex: {type: boolean}")
    result = run(adult_project, "plan")
    assert result.exit_code == 2 and "column 'sex': declared boolean but the source type is VARCHAR: give the two spellings" in result.output


def test_generalize_width_finer_than_the_column_type(adult_project):
    # Edges of 0.5 cannot be published in an integer column (2.5 -> 3): refused where the width
    # is written, before anything is read; whole-number widths pass.
    edit(adult_project / "specs" / "adult.yml", "  age: {type: numerical}", "  age: {type: numerical, pii: generalize, width: 2.5}")
    result = run(adult_project, "plan")
    assert result.exit_code == 2
    assert ("specs/adult.yml:9:43: column 'age': generalize width 2.5 has bin edges of 1 decimal place, but the "
            "source type BIGINT holds whole numbers: the published edges would be rounded off their bins; "
            "use a whole-number width") in result.output
    edit(adult_project / "specs" / "adult.yml", "width: 2.5", "width: 5")
    assert run(adult_project, "plan").exit_code == 0


def test_generalize_key_of_the_wrong_column_type(adult_project):
    # `truncate` is for datetimes: on a number it is refused, exit 2, nothing published.
    edit(adult_project / "specs" / "adult.yml", "  age: {type: numerical}",
         "  age: {type: numerical, pii: generalize, width: 5, truncate: day}")
    result = run(adult_project, "apply")
    assert result.exit_code == 2
    assert "specs/adult.yml:9:" in result.output and "a numerical column takes 'width'" in result.output


def test_text_declared_numerical_must_hold_numbers(adult_project):
    # Text may hold numbers (modelled as numbers, published as text); text that does not is
    # found when the rows are read, and located at the column's type.
    edit(adult_project / "specs" / "adult.yml", "  sex: {type: categorical}", "  sex: {type: numerical}")
    result = run(adult_project, "apply")
    assert result.exit_code == 3
    assert "column 'sex':" in result.output and "do not read as finite numbers" in result.output


def test_unknown_selection(adult_project):
    result = run(adult_project, "plan", "--select", "adlut")
    assert result.exit_code == 2 and "no spec for table 'adlut'; did you mean 'adult'?" in result.output


def test_locked_database(adult_project):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); time.sleep(60)",
         str(adult_project / "wh.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        result = run(adult_project, "apply")
        assert result.exit_code == 3
        assert f"database 'wh.duckdb' is locked by another process (process {holder.pid})" in result.output
        # The reports tell the truth: the run is an error, not a green run without tables.
        results = json.loads((adult_project / "target" / "run_results.json").read_text())
        assert results["status"] == "error" and "is locked by another process" in results["errors"][0]["message"]
        assert results["error_class"] == "EnvironmentError" and results["exit_code"] == 3
    finally:
        holder.kill()
        holder.wait()


def test_unwritable_target(adult_project):
    (adult_project / "blocked").write_text("a file, not a directory")
    edit(adult_project / "synthspec.yml", "target: {duckdb: wh.duckdb", "target: {duckdb: blocked/out.duckdb")
    result = run(adult_project, "apply")
    assert result.exit_code == 3 and "cannot open or create database 'blocked/out.duckdb': Not a directory" in result.output


def test_failing_threshold_keeps_the_previous_view(adult_project):
    assert run(adult_project, "apply", "-q").exit_code == 0
    before = view_rows(adult_project)
    edit(adult_project / "synthspec.yml", "quality_score: {min: 0.5}", "quality_score: {min: 0.9999}")
    for args in (("apply",), ("apply", "--force")):  # a re-check, then a retrain
        result = run(adult_project, *args)
        assert result.exit_code == 1, result.output
        assert "quality_score" in result.output and "nothing published" in result.output
        assert view_rows(adult_project) == before


def test_warn_severity_does_not_fail(adult_project):
    edit(adult_project / "synthspec.yml", "quality_score: {min: 0.5}", "quality_score: {min: 0.9999, severity: warn}")
    result = run(adult_project, "apply")
    assert result.exit_code == 0 and "warn" in result.output


def test_killed_apply_leaves_previous_view(adult_project):
    assert run(adult_project, "apply", "-q").exit_code == 0
    before = view_rows(adult_project)
    edit(adult_project / "specs" / "adult.yml", "type: cart", "type: gaussian_copula")
    proc = subprocess.Popen([sys.executable, "-m", "synthspec.cli.main", "apply", "--project-dir", str(adult_project)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3.0)  # inside SDV import or training: well before publishing
    proc.kill()
    proc.wait()
    assert view_rows(adult_project) == before
    result = run(adult_project, "plan")
    assert result.exit_code == 0 and "will train" in result.output


def test_errors_in_json_format(adult_project):
    edit(adult_project / "specs" / "adult.yml", "  seed: 7", "  sede: 7")
    result = run(adult_project, "validate", "--format", "json")
    assert result.exit_code == 2 and '"status": "error"' in result.output and "model.sede" in result.output


def test_debug_shows_the_traceback(adult_project):
    edit(adult_project / "specs" / "adult.yml", "raw.adult", "raw.adults")
    result = CliRunner().invoke(cli, ["apply", "--debug", "--project-dir", str(adult_project)])
    assert result.exit_code == 3 and "Traceback (most recent call last)" in result.stderr
    assert "_duckdb.CatalogException: Catalog Error: Table with name adults does not exist!" in result.stderr
    assert "synthspec.errors.EnvironmentError_: specs/adult.yml: cannot read source table 'raw.adults'" in result.stderr
    quiet = run(adult_project, "apply")
    assert quiet.exit_code == 3 and quiet.exception is None or isinstance(quiet.exception, SystemExit)


def test_every_table_error_line_names_its_table(adult_project):
    edit(adult_project / "specs" / "adult.yml", "raw.adult", "raw.adults")
    for command in ("plan", "apply"):
        result = run(adult_project, command)
        assert result.exit_code == 3
        assert result.stderr.startswith("adult: cannot read source table 'raw.adults': Catalog Error"), result.stderr
        # stdout lists every table, the errored one with its problem (one line each)
        assert result.stdout.startswith("adult: error\n  adult: cannot read source table 'raw.adults'"), result.stdout
    summary = (adult_project / "target" / "summary.md").read_text()
    assert "- **adult**: EnvironmentError: adult: cannot read source table 'raw.adults'" in summary


def test_no_project_file(tmp_path):
    result = run(tmp_path, "validate")
    assert result.exit_code == 2 and "no synthspec.yml" in result.output


def test_source_path_missing(tmp_path, write):
    write("synthspec.yml", "name: p\ntarget: {duckdb: out.duckdb}\n")
    write("specs/t.yml", "version: 1\ntable: t\nsource: {path: data/none.parquet}\ncolumns:\n  a: {type: numerical}\n")
    result = run(tmp_path, "apply")
    assert result.exit_code == 3 and "cannot read source path 'data/none.parquet'" in result.output


def test_multiple_failures_exit_with_the_most_severe(adult_project, adult):
    make_warehouse(adult_project / "wh.duckdb", {"adult2": adult.head(300)})
    text = (adult_project / "specs" / "adult.yml").read_text().replace("table: adult", "table: adult2").replace("raw.adult", "raw.adult2")
    (adult_project / "specs" / "adult2.yml").write_text(text + "checks:\n  quality_score: {min: 0.9999}\n")
    edit(adult_project / "specs" / "adult.yml", "raw.adult", "raw.missing")
    result = run(adult_project, "apply")
    assert result.exit_code == 3
    assert "raw.missing" in result.output and "adult2: failed" in result.output


def test_validate_is_offline(adult_project):
    (adult_project / "wh.duckdb").unlink()
    assert run(adult_project, "validate").exit_code == 0
    result = run(adult_project, "plan")
    assert result.exit_code == 3 and "database 'wh.duckdb' does not exist" in result.output


def test_select_and_exclude(adult_project, adult):
    make_warehouse(adult_project / "wh.duckdb", {"other": adult.head(200)})
    text = (adult_project / "specs" / "adult.yml").read_text()
    (adult_project / "specs" / "other.yml").write_text(text.replace("table: adult", "table: other\ntags: [nightly]").replace("raw.adult", "raw.other"))
    assert "other:" not in run(adult_project, "plan", "--exclude", "other").output
    result = run(adult_project, "plan", "-s", "tag:nightly", "--format", "json")
    assert '"table": "other"' in result.output and '"table": "adult"' not in result.output


def test_init_usage_errors(tmp_path, adult):
    make_warehouse(tmp_path / "wh.duckdb", {"adult": adult.head(50)})
    result = run(tmp_path, "init")
    assert result.exit_code == 2 and "init needs exactly one of --from-duckdb FILE or --from-path GLOB" in result.output
    result = run(tmp_path, "init", "--from-duckdb", str(tmp_path / "wh.duckdb"), "--schema", "nope")
    assert result.exit_code == 2 and "schema 'nope' of" in result.output and "has no tables or views" in result.output
    result = run(tmp_path, "init", "--from-path", "lake/*.parquet")
    assert result.exit_code == 2 and "no files match 'lake/*.parquet'" in result.output
    result = run(tmp_path, "init", "--from-duckdb", str(tmp_path / "missing.duckdb"))
    assert result.exit_code == 3 and "does not exist" in result.output


def test_model_failure_is_a_table_error_without_values(adult_project):
    from synthspec.models.registry import _REGISTRY, get_model

    cls = get_model("cart")
    original = cls.fit

    def broken(self, data, progress=None):
        raise ValueError(f"could not convert {data.iloc[0, 1]!r}")  # a library quoting a cell

    cls.fit = broken
    try:
        result = run(adult_project, "apply")
    finally:
        cls.fit = original
    assert result.exit_code == 3
    assert "adult: model 'cart' failed during training: ValueError (run with --debug for details)" in result.stderr
    assert "State-gov" not in result.output and "Private" not in result.output
    assert _REGISTRY["cart"].fit is original


def test_corrupt_budget_ledger(adult_project):
    state = adult_project / ".synthspec"
    state.mkdir()
    (state / "budget_ledger.json").write_text("{not json")
    from synthspec.io import ledger

    with pytest.raises(Exception) as info:
        ledger.balance(state, None, "x")
    assert "budget ledger" in str(info.value) and "corrupt" in str(info.value)


def test_datetime_on_text_needs_its_format(adult_project):
    edit(adult_project / "specs" / "adult.yml", "  sex: {type: categorical}", "  sex: {type: datetime}")
    result = run(adult_project, "plan")
    assert result.exit_code == 2
    assert "column 'sex': declared datetime but the source type is VARCHAR: give the text's `format`" in result.output
