"""The repository's markdown reads whole in a clone: every relative link, and every code span
naming a markdown file, points at a file of the repository (and at a heading that exists)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {"node_modules", "instance"}

# [text](target "title") and [label]: target; images too.  Code blocks are left out first.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
CODE_BLOCK = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`([^`\s]+\.md)(?:#[^`\s]*)?`")


def _markdown_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.md")
                  if not any(part.startswith(".") or part in SKIP_DIRS
                             for part in p.relative_to(ROOT).parts))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = CODE_BLOCK.sub("", path.read_text(encoding="utf-8"))
    return {_slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE)}


def _broken(source: Path, target: str) -> str | None:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto: ...
        return None
    path_part, _, anchor = target.partition("#")
    resolved = (source.parent / path_part).resolve() if path_part else source
    if not resolved.is_relative_to(ROOT):
        return "points outside the repository"
    if not resolved.exists():
        return "does not exist"
    if anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
        return f"has no heading #{anchor}"
    return None


def _problems(source: Path) -> list[str]:
    text = CODE_BLOCK.sub("", source.read_text(encoding="utf-8"))
    targets = INLINE_LINK.findall(text) + REFERENCE.findall(text)
    problems = [f"{target}: {why}" for target in targets
                if (why := _broken(source, target)) is not None]
    # A path in a code span is not a link, but a reader follows it all the same: from the
    # file's folder or from the repository's root, it must lead somewhere.
    for named in CODE_SPAN.findall(text):
        if not ((source.parent / named).resolve().is_file()
                and (source.parent / named).resolve().is_relative_to(ROOT)) \
                and not (ROOT / named).resolve().is_file():
            problems.append(f"`{named}`: names no markdown file of the repository")
    return problems


@pytest.mark.parametrize("source", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve_inside_the_repository(source: Path):
    assert _problems(source) == []


def test_the_checker_finds_what_it_should():
    """The checker itself can fail: broken links of each kind are reported."""
    assert _markdown_files(), "no markdown found: the walk is wrong"
    page = ROOT / "README.md"
    assert _broken(page, "../shared/DESIGN.md") == "points outside the repository"
    assert _broken(page, "docs/NOPE.md") == "does not exist"
    assert _broken(page, "docs/POINTS.md#no-such-part") == "has no heading #no-such-part"
    assert _broken(page, "docs/POINTS.md#returns-policy") is None
    assert _broken(page, "https://example.com/x") is None
