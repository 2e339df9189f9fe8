"""The browser tests' wait: a node ChromeDriver says no longer belongs to the document (the page
was replaced between the lookup and the call) means "not yet", any other error still fails."""

from __future__ import annotations

import pytest

pytest.importorskip("selenium")

from selenium.common.exceptions import WebDriverException  # noqa: E402

from api.web.screenshots import _navigating  # noqa: E402

REPLACED = ('unknown error: unhandled inspector error: {"code":-32000,'
            '"message":"Node with given id does not belong to the document"}')


def _raising(message: str):
    def condition(driver):
        raise WebDriverException(message)
    return condition


def test_a_node_of_the_replaced_page_is_not_yet() -> None:
    assert _navigating(_raising(REPLACED))(None) is False


def test_any_other_driver_error_still_fails() -> None:
    with pytest.raises(WebDriverException, match="chrome not reachable"):
        _navigating(_raising("chrome not reachable"))(None)


def test_the_condition_s_own_answer_passes_through() -> None:
    assert _navigating(lambda d: "page")(None) == "page"
