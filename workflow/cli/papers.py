"""Papers: list a case's papers, print one as issued (PDF or HTML)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from .choices import PaperFormat
from .common import JsonOpt, esc, group, out, print_json, row, settings, table

papers_app = group(help="The papers the steps issued: list a case's, print one as issued. "
                        "They carry the person's full ID number: each listing and printing is "
                        "written to the access log under the login of the machine's user.")


@papers_app.command("list")
def list_papers(case_id: int, as_json: JsonOpt = False) -> None:
    """List the papers issued on a case (number, kind, date, SHA-256 of the kept text)."""
    engine = settings.engine(read=True)
    found = engine.papers(case_id)
    engine.record_operator_read(case_id, "papers", getpass.getuser())
    if as_json:
        print_json([p.to_dict() for p in found])
        return
    rows = table(f"papers of case {case_id}", ("id", "kind", "number", "issued on", "agency",
                                               "replaces", "sha256"),
                 whole=("id", "number", "issued on", "agency", "replaces", "sha256"))
    for p in found:
        row(rows, p.id, p.kind, p.number, p.issued_on, p.agency, p.replaces or "", p.sha256[:16])
    out.print(rows)


@papers_app.command("print")
def print_paper(
    paper_id: int,
    out_file: Annotated[Path, typer.Option("--out", help="The file to write.")],
    format: Annotated[PaperFormat, typer.Option(help="How to print it.")] = PaperFormat.pdf,
    as_json: JsonOpt = False,
) -> None:
    """Write a paper as it was issued: its kept HTML, or a PDF printed from it."""
    engine = settings.engine(read=True)
    paper, body = engine.print_paper(paper_id, format.value)
    out_file.write_bytes(body)
    engine.record_operator_read(paper.case_id, "paper", getpass.getuser())
    if as_json:
        print_json({"paper": paper_id, "format": format.value, "bytes": len(body),
                    "path": str(out_file)})
        return
    out.print(f"wrote paper {paper_id} ({format.value}, {len(body)} bytes) to {esc(out_file)}")
