"""Every relative link of README.md, CHANGELOG.md and docs/*.md resolves: the file exists, and
an anchor (``#...``) names a heading of the file it points to (GitHub's heading ids).

Links are Markdown links ``[text](target)`` outside code blocks and code spans; web addresses
(``https:``, ``mailto:``) are not followed.
"""
from __future__ import annotations

import re
from pathlib import Path

from conftest import REPO

DOCUMENTS = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def prose(text: str) -> str:
    """The text without fenced code blocks and code spans."""
    return re.sub(r"`[^`\n]*`", "", without_code_blocks(text))


def heading_ids(path: Path) -> set[str]:
    """GitHub's ids of a Markdown file's headings: lower case, punctuation but - and _ dropped,
    spaces to -, a repeated heading gets -1, -2, ..."""
    ids, seen = set(), {}
    for line in without_code_blocks(path.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*$", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        ids.add(slug if n == 0 else f"{slug}-{n}")
    return ids


def broken_links(path: Path, root: Path = REPO) -> list[str]:
    broken = []
    for target in LINK.findall(prose(path.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            broken.append(f"{path.relative_to(root)}: {target} (no {file})")
        elif anchor and resolved.suffix == ".md" and anchor not in heading_ids(resolved):
            broken.append(f"{path.relative_to(root)}: {target} (no heading #{anchor})")
    return broken


def test_every_relative_link_resolves():
    assert [b for doc in DOCUMENTS for b in broken_links(doc)] == []


def test_the_docs_have_links_and_the_check_sees_a_broken_one(tmp_path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for doc in ("user-guide", "reviewers", "cluster", "performance", "development", "data-contract"):
        assert f"](docs/{doc}.md)" in readme
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/a.md").write_text("# A title\n\n## The `sub` part: one\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text("[ok](docs/a.md#the-sub-part-one) [gone](docs/b.md) [no heading](docs/a.md#nope) "
                    "`[in code](docs/c.md)` [web](https://example.org)\n", encoding="utf-8")
    assert broken_links(page, root=tmp_path) == ["README.md: docs/b.md (no docs/b.md)",
                                                 "README.md: docs/a.md#nope (no heading #nope)"]


def test_readme_is_a_front_page():
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 150
