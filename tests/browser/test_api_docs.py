"""The API docs in a real browser with no internet (issue 16): Swagger UI and ReDoc draw the API
from assets the app serves, and the browser asks no other host for anything."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from api.web.screenshots import wait_for

from .conftest import Stack


def loaded(d: Any) -> list[str]:
    """Every resource the page asked for (the Resource Timing entries)."""
    return list(d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"))


def fetched_from_outside(d: Any, base: str) -> list[str]:
    """Resources of another host the browser really fetched: an entry the page's
    Content-Security-Policy blocked has no response (and the console says it was blocked)."""
    entries = d.execute_script(
        "return performance.getEntriesByType('resource').map(e => [e.name, e.responseStart, e.transferSize])")
    outside = [(name, start, size) for name, start, size in entries if not name.startswith(base)]
    blocked = " ".join(e["message"] for e in d.get_log("browser") if "Content Security Policy" in e["message"])
    return [name for name, start, size in outside if start or size or name not in blocked]


def test_swagger_ui_and_redoc_draw_the_api_offline(driver: Any, stack: Stack) -> None:
    driver.get(stack.url + "/docs")
    wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")) > 10)
    text = driver.find_element(By.CSS_SELECTOR, ".swagger-ui").text
    assert "/api/cases" in text and "/api/worklist" in text
    assert not driver.find_elements(By.CSS_SELECTOR, ".swagger-ui .errors-wrapper")
    assert [u for u in loaded(driver) if not u.startswith(stack.url)] == []  # Swagger UI asks for nothing else
    assert {u for u in loaded(driver)} >= {stack.url + "/docs-assets/swagger-ui-bundle.js", stack.url + "/openapi.json"}

    driver.get(stack.url + "/redoc")
    wait_for(driver, lambda d: "/api/cases" in d.find_element(By.TAG_NAME, "body").text)
    assert "API docs by Redocly" in driver.find_element(By.TAG_NAME, "body").text  # its logo: not fetched
    assert fetched_from_outside(driver, stack.url) == []
