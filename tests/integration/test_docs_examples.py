"""Every YAML and shell example in README.md and docs/ is checked (issue 10): a README whose
example spec fails `validate` is the first thing a new user meets.

* YAML: a table spec (has `version` and `table`) or a project file (has `name` and `target`)
  is written into a temporary project and must pass `synthspec validate`. A spec is validated
  under the project example that precedes it in the same file (so its defaults and guardrails
  apply), else under a minimal project. A block that is only part of a file must be preceded by
  `<!-- example: fragment -->`: it must still parse as YAML, and is counted and listed as not
  validated. A file of another tool says so on its first line (`# profiles.yml`,
  `# .github/workflows/synthspec.yml`): parsed as YAML and listed too. Any other YAML block
  fails the test, so no new example goes unchecked.
* Shell: every `synthspec ...` command line is parsed by the real click commands (every flag
  and value accepted); `validate` and `schema` lines are also run on this repository's demo
  project. `make X` needs the Makefile target, `python -c CODE` must compile; other programs
  must be in KNOWN_PROGRAMS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.commandline import check_invocation, synthspec_invocations
from tests.helpers import run_cli

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FRAGMENT = "<!-- example: fragment -->"
SECRET = "a-docs-example-secret-of-32-chars"
#: Programs a shell example may call that this test does not check further.
KNOWN_PROGRAMS = {"source", "cd", "dbt"}
#: Commands cheap and side-effect free enough to run on the demo project.
RUN_FOR_REAL = {"validate", "schema"}
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[A-Za-z]*)\s*$")


@dataclass(frozen=True)
class Example:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    fragment: bool

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def extract(path: Path) -> list[Example]:
    """The fenced blocks of a Markdown file, dedented (blocks inside list items are indented)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening or not opening["lang"]:
            index += 1
            continue
        indent, body, end = opening["indent"], [], index + 1
        while end < len(lines) and lines[end].strip() != "```":
            body.append(lines[end][len(indent):] if lines[end].startswith(indent) else lines[end])
            end += 1
        previous = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        found.append(Example(path, index + 1, opening["lang"], "\n".join(body) + "\n", previous == FRAGMENT))
        index = end + 1
    return found


EXAMPLES = [example for path in DOCUMENTS for example in extract(path)]
YAML_EXAMPLES = [e for e in EXAMPLES if e.lang == "yaml"]
SHELL_EXAMPLES = [e for e in EXAMPLES if e.lang in ("bash", "sh", "shell", "console")]


def _kind(example: Example) -> str:
    data = yaml.safe_load(example.text)
    if example.fragment:
        return "fragment"
    if isinstance(data, dict) and {"version", "table"} <= data.keys():
        return "spec"
    if isinstance(data, dict) and {"name", "target"} <= data.keys():
        return "project"
    if _other_tool_file(example.text):
        return "other"
    raise AssertionError(f"{example.where}: a YAML example that is neither a spec nor a project file; "
                         f"mark it with {FRAGMENT} on the line before if it is part of a file")


def _other_tool_file(text: str) -> str | None:
    """The file a block's first-line comment names, when it is not one of synthspec's."""
    first = text.splitlines()[0] if text.strip() else ""
    match = re.fullmatch(r"#\s*(?P<path>[\w./-]+\.ya?ml)\b.*", first.strip())
    if not match or match["path"] == "synthspec.yml" or match["path"].startswith("specs/"):
        return None
    return match["path"]


MINIMAL_PROJECT = "name: docs\nsource: {duckdb: warehouse.duckdb}\ntarget: {duckdb: warehouse.duckdb}\n"


def _project_for(spec: Example) -> str:
    """The last project example before ``spec`` in its file, else a minimal project."""
    before = [e for e in YAML_EXAMPLES if e.path == spec.path and e.line < spec.line and _kind(e) == "project"]
    return before[-1].text if before else MINIMAL_PROJECT


def test_the_documents_have_examples_of_every_kind():
    kinds = [_kind(e) for e in YAML_EXAMPLES]
    assert kinds.count("spec") >= 1 and kinds.count("project") >= 1
    assert len(SHELL_EXAMPLES) >= 5
    assert {e.path.name for e in EXAMPLES} >= {"README.md", "specs.md", "dbt.md"}


@pytest.mark.parametrize("example", [e for e in YAML_EXAMPLES if not e.fragment], ids=lambda e: e.where)
def test_yaml_example_validates(example, tmp_path, monkeypatch):
    kind = _kind(example)
    if kind == "other":  # another tool's file: it must parse as a YAML mapping
        assert isinstance(yaml.safe_load(example.text), dict), example.where
        return
    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    (tmp_path / "specs").mkdir()
    if kind == "spec":
        table = yaml.safe_load(example.text)["table"]
        (tmp_path / "synthspec.yml").write_text(_project_for(example))
        (tmp_path / "specs" / f"{table}.yml").write_text(example.text)
        expected = f"1 spec(s) valid: {table}"
    else:
        (tmp_path / "synthspec.yml").write_text(example.text)
        expected = "0 spec(s) valid"
    result = run_cli(tmp_path, "validate")
    assert result.exit_code == 0, f"{example.where}: {result.output}"
    assert expected in result.stdout


def test_fragments_parse_and_are_listed(capsys):
    fragments = [e for e in YAML_EXAMPLES if e.fragment]
    for fragment in fragments:
        yaml.safe_load(fragment.text)  # a fragment is still valid YAML
    marked = sum(line.strip() == FRAGMENT for path in DOCUMENTS for line in path.read_text(encoding="utf-8").splitlines())
    assert len(fragments) == marked, "every fragment marker must precede a YAML block"
    others = [e for e in YAML_EXAMPLES if _kind(e) == "other"]
    with capsys.disabled():
        print(f"\n{len(fragments)} YAML fragment(s) parsed but not validated: {', '.join(e.where for e in fragments)}")
        print(f"{len(others)} YAML file(s) of other tools parsed: "
              + ", ".join(f"{e.where} ({_other_tool_file(e.text)})" for e in others))


def _commands(example: Example) -> list[tuple[int, str]]:
    """(line, command) per logical line of a shell block (continuations joined, comments kept)."""
    joined, commands, start = "", [], 0
    for offset, line in enumerate(example.text.splitlines(), start=example.line + 1):
        if not joined:
            start = offset
        joined += line.rstrip("\\") + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            if joined.strip() and not joined.strip().startswith("#"):
                commands.append((start, joined.strip()))
            joined = ""
    return commands


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, flags=re.MULTILINE))


def _check_other_program(where: str, line: str) -> None:
    import shlex

    words = shlex.split(line, comments=True)
    program = words[0].rsplit("/", 1)[-1]
    if program == "make":
        missing = [w for w in words[1:] if "=" not in w and w not in _make_targets()]
        assert not missing, f"{where}: no Makefile target {missing}"
    elif program.startswith("python") and "-c" in words:
        compile(words[words.index("-c") + 1], where, "exec")
    elif program.startswith("python") and words[1:3] == ["-m", "pip"]:
        _check_pip(where, words[3:])
    else:
        assert program in KNOWN_PROGRAMS, f"{where}: `{program}` is not checked by this test; teach it or remove it"


def _check_pip(where: str, args: list[str]) -> None:
    """An install line says what the Makefile does: torch at its version from its CPU index,
    synthspec at the version pyproject.toml builds."""
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    version = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.MULTILINE)[1]
    assert args[0] == "install", f"{where}: only `pip install` lines are checked"
    if "--index-url" in args:
        index = args[args.index("--index-url") + 1]
        assert f"TORCH_INDEX ?= {index}" in make, f"{where}: {index} is not the Makefile's TORCH_INDEX"
    for word in args[1:]:
        if word.startswith("torch"):
            assert word == "torch==" + re.search(r"^TORCH_VERSION \?= (.+)$", make, re.MULTILINE)[1], f"{where}: {word}"
        elif word.startswith("synthspec"):
            assert word in ("synthspec", f"synthspec=={version}", f"synthspec-{version}-py3-none-any.whl"), f"{where}: {word}"


@pytest.mark.parametrize("example", SHELL_EXAMPLES, ids=lambda e: e.where)
def test_shell_example_commands_exist_with_their_flags(example):
    for line_no, line in _commands(example):
        where = f"{example.path.relative_to(ROOT)}:{line_no}"
        invocations = synthspec_invocations(line)
        for argv in invocations:
            try:
                check_invocation(argv)
            except Exception as exc:  # noqa: BLE001 - reported with the example's location
                raise AssertionError(f"{where}: `synthspec {' '.join(argv)}` is not accepted: {exc}") from exc
        if not invocations:
            _check_other_program(where, line)


def test_cheap_shell_examples_run_on_the_demo_project(monkeypatch):
    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    monkeypatch.chdir(ROOT)
    from synthspec.cli.main import cli

    ran = 0
    for example in SHELL_EXAMPLES:
        for _, line in _commands(example):
            for argv in synthspec_invocations(line):
                if argv and argv[0] in RUN_FOR_REAL and "--project-dir" not in argv:
                    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
                    assert result.exit_code == 0, f"{example.where}: synthspec {' '.join(argv)}: {result.output}"
                    ran += 1
    assert ran >= 1


_LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")
_MARKDOWN_NAME = re.compile(r"(?<![\w/.-])(?P<name>[\w./-]+\.md)\b")
#: Markdown files a run writes (target/summary.md), named by the docs but not in the repository.
GENERATED = {"summary.md", "target/summary.md"}


def test_every_linked_or_named_document_is_in_the_repository():
    """The README once sent readers to a DESIGN.md that is not in the repository: every
    relative link, and every `*.md` file a page names, must exist (relative to the page or
    to the repository root)."""
    missing = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        targets = {m["target"] for m in _LINK.finditer(text) if "://" not in m["target"]}
        targets |= {m["name"] for m in _MARKDOWN_NAME.finditer(text)}
        for target in sorted(targets - GENERATED):
            if not ((path.parent / target).exists() or (ROOT / target).exists()):
                missing.append(f"{path.relative_to(ROOT)}: {target}")
    assert not missing, "documents that are not in the repository:\n" + "\n".join(missing)


def _small_warehouse(root: Path) -> None:
    """What the `init` examples read: `warehouse.duckdb` with a schema `raw`, and `lake/*.parquet`."""
    import pandas as pd

    from tests.helpers import make_warehouse

    frame = pd.DataFrame({"id": range(1, 61), "segment": ["a", "b", "c"] * 20, "spend": [float(i % 13) for i in range(60)]})
    make_warehouse(root / "warehouse.duckdb", {"customers": frame}, schema="raw")
    (root / "lake").mkdir()
    frame.to_parquet(root / "lake" / "customers.parquet")


def test_init_examples_run_and_their_drafts_validate(tmp_path, monkeypatch):
    """Each documented `init` line, run as written in a fresh directory holding the files it
    names, drafts a project that passes `validate`: the first steps a new user copies."""
    from synthspec.cli.main import cli

    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    lines = {tuple(argv) for example in SHELL_EXAMPLES for _, line in _commands(example)
             for argv in synthspec_invocations(line) if argv and argv[0] == "init" and "--project-dir" not in argv}
    assert lines, "the docs show no `init` example"
    for index, argv in enumerate(sorted(lines)):
        project = tmp_path / str(index)
        project.mkdir()
        _small_warehouse(project)
        monkeypatch.chdir(project)
        result = CliRunner().invoke(cli, list(argv), catch_exceptions=False)
        assert result.exit_code == 0, f"synthspec {' '.join(argv)}: {result.output}"
        validated = CliRunner().invoke(cli, ["validate"], catch_exceptions=False)
        assert validated.exit_code == 0 and "1 spec(s) valid: customers" in validated.stdout, validated.output
        assert ".synthspec/" in (project / ".gitignore").read_text()
