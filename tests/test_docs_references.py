"""References in the code to documents and tests point at things that exist.

Docstrings and comments cite ``docs/domain.md section N`` for the science behind a default and
``tests/test_x.py`` for the test that backs a claim. Such references rot silently when a file
or a section moves (45 docstrings once cited a ``domain.md`` that was not in the repository),
so every one is resolved here: the file exists and, for a section, a heading ``## N.`` exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("biofeedback", "sensors", "protocols")

# A path-like token ending in .md, then optionally "section N" or "§N" (possibly across a
# line break inside a docstring). The token may have no directory, so a bare "domain.md
# section 1" is caught and refused below instead of being skipped.
_MD_REF = re.compile(r"(?P<path>[\w./-]*[\w-]+\.md)(?:\s+(?:section|§)\s*|§)?(?P<section>\d+)?")
_TEST_REF = re.compile(r"(?<![\w/.])(?P<path>tests/[\w/]+\.py)")
_HEADING = re.compile(r"^##\s+(\d+)\.\s", re.MULTILINE)


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _md_references() -> list[tuple[str, str, int | None]]:
    refs: list[tuple[str, str, int | None]] = []
    for src in _sources():
        text = src.read_text(encoding="utf-8")
        for m in _MD_REF.finditer(text):
            where = f"{src.relative_to(ROOT)}:{_line_of(text, m.start())}"
            section = int(m["section"]) if m["section"] else None
            refs.append((where, m["path"], section))
    return refs


def _test_references() -> list[tuple[str, str]]:
    refs: list[tuple[str, str]] = []
    for src in _sources():
        text = src.read_text(encoding="utf-8")
        for m in _TEST_REF.finditer(text):
            refs.append((f"{src.relative_to(ROOT)}:{_line_of(text, m.start())}", m["path"]))
    return refs


def _sections(md: Path) -> set[int]:
    return {int(n) for n in _HEADING.findall(md.read_text(encoding="utf-8"))}


def test_the_scan_finds_the_known_references():
    # Guards the scanner itself: a regex that matched nothing would pass every check below.
    md = _md_references()
    assert sum(1 for _, path, _ in md if path == "docs/domain.md") >= 40
    # The importers cite docs/formats.md (issue 12) instead of domain.md section 7.
    assert sum(1 for _, path, _ in md if path == "docs/formats.md") >= 8
    assert {section for _, path, section in md if path == "docs/domain.md"} >= {1, 3, 4, 5, 6, 7}
    assert ("biofeedback/analysis/artifacts.py", "tests/analysis/test_artifacts.py") in {
        (where.split(":")[0], path) for where, path in _test_references()
    }


def test_every_cited_document_and_section_exists():
    problems = []
    for where, path, section in _md_references():
        if path != "README.md" and not path.startswith("docs/"):
            problems.append(f"{where}: {path!r} is not a path from the repository root (docs/...)")
            continue
        target = ROOT / path
        if not target.is_file():
            problems.append(f"{where}: {path} does not exist")
        elif section is not None and section not in _sections(target):
            problems.append(f"{where}: {path} has no heading '## {section}.'")
    assert not problems, "\n".join(problems)


def test_every_cited_test_file_exists():
    refs = _test_references()
    missing = [f"{where}: {path}" for where, path in refs if not (ROOT / path).is_file()]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(docs/domain.md section 3)", ("docs/domain.md", 3)),
        ("(docs/domain.md\n    section 4)", ("docs/domain.md", 4)),
        ("docs/domain.md §6", ("docs/domain.md", 6)),
        ("see docs/straps.md.", ("docs/straps.md", None)),
        ("(domain.md section 1)", ("domain.md", 1)),
    ],
)
def test_reference_pattern(text, expected):
    m = _MD_REF.search(text)
    assert m is not None
    assert (m["path"], int(m["section"]) if m["section"] else None) == expected


def test_domain_reference_sections_are_numbered_in_order():
    # Docstrings cite sections by number: a heading inserted in the middle would silently
    # renumber every later citation.
    numbers = [int(n) for n in _HEADING.findall((ROOT / "docs/domain.md").read_text("utf-8"))]
    assert numbers == list(range(1, len(numbers) + 1))
