"""kd grade's report: student-controlled text cannot forge lines; the layout says what happened."""

from __future__ import annotations

from pathlib import Path

from kdlib.grading.host.report import Report, StudentResult, safe


def test_safe_keeps_one_printable_line():
    evil = "bob\n  alice      15 / 15   -\x1b[2K\r\u2028"
    out = safe(evil)
    assert "\n" not in out and "\r" not in out and "\x1b" not in out and "\u2028" not in out
    assert out.startswith("bob\\n") and "\\x1b" in out
    assert len(safe("x" * 1000, limit=50)) == 50


def test_report_escapes_names_and_reasons():
    evil = "eve\nforged    15 / 15   -"
    r = StudentResult(
        evil, status="problem", score=3, max_score=15, reasons={"crash": "died\x1b[31m\nhere"}, flags=["flag\nline"]
    )
    ok = StudentResult("amy", score=15, max_score=15, cells={"a": (15, 15)})
    text = Report(
        "03_loss_torch", Path("/c"), {evil: r, "amy": ok}, Path("/c/g.csv"), Path("/c/f"), Path("/c/a"), None, 12.0, 2
    ).format()
    lines = text.splitlines()
    assert not any(line.startswith("forged") for line in lines), text
    assert sum("eve\\nforged" in line for line in lines) == 2  # the failed row and the "worth a look" row
    assert "died\\x1b[31m\\nhere" in text
    assert "03_loss_torch: 2 submission(s) in 12 s with 2 job(s), sandboxed" in lines[0]
