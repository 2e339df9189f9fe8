"""How long the PDF of a document with one long stored text takes, by length (docs/performance.md,
"Long text in documents"). Run: ``.venv/bin/python -m bench.long_text_docs [2000,8000,32000,340000]``.

Each length is laid out three ways: one paragraph of CJK text (a 延期理由 in the 延期通知书), the
same as a table cell (a 请求事项 in the 受理回执's table), and one unbroken ASCII run."""

from __future__ import annotations

import sys
import time

import adapters.documents
from adapters.documents import html_to_pdf


def pages(n: int) -> dict[str, str]:
    return {
        "paragraph": f"<html><body><h1>延期通知书</h1><p>延期理由：{'长' * n}</p></body></html>",
        "table cell": f"<html><body><table><tr><td>请求事项</td><td>{'长' * n}</td></tr></table></body></html>",
        "ascii run": f"<html><body><p>{'x' * n}</p></body></html>",
    }


def main(lengths: list[int]) -> None:
    adapters.documents.MAX_PDF_CHARS = 10**9  # measure past the bound the service refuses at
    html_to_pdf("<p>warm up</p>")  # the font loads once
    print("| characters | paragraph | table cell | ascii run |")
    print("| ---: | ---: | ---: | ---: |")
    for n in lengths:
        cells = []
        for page in pages(n).values():
            start = time.perf_counter()
            size = len(html_to_pdf(page))
            cells.append(f"{time.perf_counter() - start:.2f} s ({size // 1024} KiB)")
        print(f"| {n:,} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main([int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "2000,8000,32000,128000,340000").split(",")])
