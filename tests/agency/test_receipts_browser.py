"""Receipts the agency can match, rendered in a real browser: headless Chromium (Debian's
``/usr/bin/chromium``, driven by Playwright; no browser download) opens a receipt and the
agency's ``index.html`` from its reports folder and finds the file's name and outcome.

Also writes the README's screenshot (``docs/agency-receipt.png``) when
``HANDOFF_SCREENSHOT_DIR`` is set, so the picture is always of the current page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.agency.support import drop_folder, make_pipeline, process, reports_folder
from tests.synthetic import make_valid_row, write_sample_csv
from usecases.initialise import initialise

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.browser


def _drop_two_files(root: Path) -> None:
    good = [
        make_valid_row(IntakeID=f"B{i:04d}", HouseholdID=f"HB{i:04d}", SSN=f"7010{i}10{i:02d}")
        for i in range(1, 5)
    ]
    good[1]["DOB"] = "17/5/1980"  # day first: held, with its own message
    good[2]["ROIConsent"] = "0"  # no consent: not sent, and said so
    good[2]["ROISignedDate"] = ""
    good[3]["VeteranStatus"] = "3"  # not a code: the receipt lists that column's codes
    write_sample_csv(drop_folder(root) / "Intakes week of 3-2 (Maria).csv", good)


def test_receipt_and_index_show_the_agency_file_name_and_outcome(tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "Debian chromium is required (make system-deps installs it)"
    root = tmp_path / "data"
    initialise(root, demo=True)
    pipe = make_pipeline(root)
    _drop_two_files(root)
    (first,) = process(pipe)
    write_sample_csv(
        drop_folder(root) / "resend.csv",
        [make_valid_row(IntakeID="B0001", HouseholdID="HB0001", SSN="701011001")],
    )
    (second,) = process(pipe)
    reports = reports_folder(root)
    receipt = next(reports.glob(f"*_{first.outcome.file_ref}_receipt.html"))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(receipt.as_uri())
            heading = page.locator("h1").inner_text()
            assert "Intakes week of 3-2 (Maria).csv" in heading
            assert "receipt" in heading
            status = page.locator(".status").inner_text()
            assert "1 of 4 rows were sent" in status
            table = page.locator("table").nth(1).inner_text()
            assert "The date only makes sense day first" in table
            assert "Not sent" in table
            help_table = page.locator("table").nth(0).inner_text()
            assert "VeteranStatus allows: 0 = No; 1 = Yes;" in help_table
            shots = os.environ.get("HANDOFF_SCREENSHOT_DIR")
            if shots:
                page.screenshot(path=str(Path(shots) / "agency-receipt.png"), full_page=True)

            page.goto((reports / "index.html").as_uri())
            rows = page.locator("table tr")
            assert rows.count() == 3  # header + two files
            newest, oldest = rows.nth(1).inner_text(), rows.nth(2).inner_text()
            assert "resend.csv" in newest
            assert "Nothing sent: 1 already sent earlier" in newest
            assert "Intakes week of 3-2 (Maria).csv" in oldest
            assert "Sent 1 of 4 rows, 2 need fixing, 1 not sent (no consent)" in oldest
            page.locator("table tr").nth(2).locator("a").click()
            assert "Intakes week of 3-2 (Maria).csv" in page.locator("h1").inner_text()
            if shots:
                page.goto((reports / "index.html").as_uri())
                page.screenshot(path=str(Path(shots) / "agency-index.png"), full_page=True)
        finally:
            browser.close()
    assert second.outcome.rows_sent == 0
