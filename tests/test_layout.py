"""The tree keeps the layout's rules: one name per test module, and the checkout found one way."""

from __future__ import annotations

import re
from collections import Counter

from strategy_operator_dev.repo import repo_root

ROOT = repo_root()
SHARED_NAMES = {"__init__.py", "conftest.py"}


def test_no_two_test_folders_hold_a_module_of_the_same_name():
    names = Counter(path.name for path in (ROOT / "tests").rglob("*.py") if "userpkg" not in path.parts)
    assert [name for name, count in names.items() if count > 1 and name not in SHARED_NAMES] == []


def test_nothing_finds_the_checkout_by_counting_parent_folders():
    pattern = re.compile(r"__file__\)?(\.resolve\(\))?\.parents\[\d+\]|\.parent\.parent")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("operator", "dev", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []
