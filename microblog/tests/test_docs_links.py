"""README.md stays a newcomer's page, and every relative link of it and of docs/ leads somewhere.

Links and headings are read by a CommonMark parser (with tables, as GitHub renders them), so a
link inside a code block is not one and a heading's anchor is GitHub's slug of its text.
"""

import re
from collections import Counter
from itertools import pairwise
from urllib.parse import unquote, urlsplit

import pytest
from django.conf import settings
from markdown_it import MarkdownIt

README_MAX_LINES = 250

PARSER = MarkdownIt("commonmark").enable("table")


def pages():
    base = settings.BASE_DIR.resolve()
    return [base / "README.md", *sorted((base / "docs").glob("*.md"))]


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page):
    tokens = PARSER.parse(page.read_text())
    seen = Counter()
    found = set()
    for opening, inline in pairwise(tokens):
        if opening.type == "heading_open":
            text = "".join(child.content for child in inline.children if child.content)
            base = slug(text)
            found.add(f"{base}-{seen[base]}" if seen[base] else base)
            seen[base] += 1
    return found


def links(page):
    for token in PARSER.parse(page.read_text()):
        for child in token.children or ():
            if child.type == "link_open":
                yield child.attrs["href"]


def broken_links(page):
    broken = []
    for href in links(page):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            continue  # another site: not this repository's to keep
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not target.exists():
            broken.append(f"{href}: no such file")
        elif parts.fragment and target.suffix == ".md" and parts.fragment not in anchors(target):
            broken.append(f"{href}: no heading #{parts.fragment} in {target.name}")
    return broken


def test_the_readme_fits_a_newcomers_first_read():
    lines = (settings.BASE_DIR / "README.md").read_text().splitlines()

    assert len(lines) <= README_MAX_LINES


def test_the_readme_links_every_page_of_docs():
    readme = settings.BASE_DIR / "README.md"
    linked = {(readme.parent / urlsplit(href).path).resolve() for href in links(readme)}

    assert set(pages()[1:]) <= linked


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.name)
def test_every_relative_link_resolves_to_a_file_and_heading(page):
    assert broken_links(page) == []


def test_a_link_to_a_missing_file_or_heading_is_reported(tmp_path):
    (tmp_path / "guide.md").write_text("# Guide\n\n## Redis: managed, or Sentinel\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](guide.md#redis-managed-or-sentinel) [gone](missing.md) "
        "[no heading](guide.md#sentinel)\n\n```\n[in code](missing.md)\n```\n"
    )

    assert broken_links(page) == [
        "missing.md: no such file",
        "guide.md#sentinel: no heading #sentinel in guide.md",
    ]
