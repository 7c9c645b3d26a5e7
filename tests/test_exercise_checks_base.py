"""The shared ✓/✗ result of the exercise checks, and the notebooks' BUDGET parameter."""

import pytest

from helpers import config
from helpers.exercises import report


def test_exercise_report_prints_tick_or_cross_with_the_numbers(capsys):
    ok = report("Exercise 1", True, success="the KL fell", hint="look at kl", measured={"kl": 0.1234567})
    bad = report("Exercise 1", False, success="the KL fell", hint="look at kl", measured={"kl": 3.0})
    out = capsys.readouterr().out.splitlines()
    assert ok and not bad
    assert out[0].startswith("✓ Exercise 1: the KL fell") and "kl = 0.1235" in out[0]
    assert out[1].startswith("✗ Exercise 1: not yet. look at kl") and "kl = 3" in out[1]


def test_budget_default_follows_the_fast_switch_and_rejects_unknown_names(monkeypatch):
    monkeypatch.setenv(config.ENV_VAR, "1")
    assert config.default_budget() == "fast"
    monkeypatch.setenv(config.ENV_VAR, "0")
    assert config.default_budget() == "full"
    assert config.by_budget("exercise", fast=1, exercise=2, full=3) == 2
    with pytest.raises(ValueError, match="BUDGET = 'quick'"):
        config.by_budget("quick", fast=1, exercise=2, full=3)


def test_a_check_cell_shows_its_verdict_once_not_the_result_repr(tmp_path):
    """A check cell ends with the check call: Jupyter shows the ✓/✗ line report() printed, and not the
    CheckResult's dataclass repr after it; the same result displayed again later prints its line."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from helpers.exercises._check import report\n"
                                          "result = report('Exercise 9', False, success='ok', hint='look at x')\n"
                                          "result"),
                nbformat.v4.new_code_cell("result")]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    first, again = (c.outputs for c in nb.cells)
    assert [o.output_type for o in first] == ["stream"] and first[0].text == "✗ Exercise 9: not yet. look at x\n"
    assert [o.output_type for o in again] == ["stream"] and "CheckResult(" not in again[0].text
