"""Papers: issued by a step in its own transaction, numbered without gaps, kept as issued,
printed again as they were, corrected by a new paper that names the one it replaces."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from ..core.access import check_paper_correction
from ..core.definitions import Definition
from ..core.divisions import Divisions
from ..core.inputs import TEXT_MAX, Actor, check_actor, check_text, today
from ..core.papers import Agencies, PaperCase, issuer_of, paper_content
from ..errors import InvalidInput, PaperNotFound
from ..logs import get_logger
from ..ports import CaseStore, CaseTransactionPort
from ..records import NewPaper, Paper, PrintedPaper, now
from .definitions import DefinitionRegistry

log = get_logger("sstransfer")
#: How a kept paper is printed.
FORMATS = ("html", "pdf")


class PaperService:
    """Issues, reads and prints papers, given the case store, the definitions, the agencies'
    own data and the divisions."""

    def __init__(self, store: CaseStore, definitions: DefinitionRegistry, agencies: Agencies,
                 divisions: Divisions) -> None:
        self.store, self.definitions, self.agencies = store, definitions, agencies
        self.divisions = divisions

    # --- issuing (inside a step's transaction) -------------------------------------------
    def issue(self, tx: CaseTransactionPort, definition: Definition, case: PaperCase,
              kinds: tuple[str, ...], inputs: Mapping[str, Any], actor: Actor,
              on: dt.date, stamp: dt.datetime) -> list[int]:
        """Issue the papers ``kinds`` of a step on ``case`` (as it is after the step), each
        with the next number of its issuing agency; their ids."""
        ids = []
        for kind in kinds:
            agency = issuer_of(kind, case, actor)
            seq = tx.next_paper_seq(agency, kind, on.year)
            number = self.agencies.number(agency, case.insurance, kind, on.year, seq)
            content = paper_content(kind, definition=definition, case=case, inputs=inputs,
                                    actor=actor, on=on, number=number, agencies=self.agencies,
                                    cumulative_months=inputs.get("contribution_months"))
            ids.append(self._keep(tx, NewPaper(
                case.id, kind, agency, on.year, seq, number, content["title"], on, stamp,
                actor.id, "", content, "")))
        return ids

    @staticmethod
    def _keep(tx: CaseTransactionPort, paper: NewPaper) -> int:
        """Print the paper's HTML once, and keep it with its SHA-256."""
        from ..render.papers import render_paper_html  # jinja2: loaded by the first paper

        html = render_paper_html(paper.content)
        digest = hashlib.sha256(html.encode()).hexdigest()
        return tx.insert_paper(NewPaper(**{**_fields(paper), "html": html, "sha256": digest}))

    # --- correcting -------------------------------------------------------------------------
    def correct(self, paper_id: int, *, actor: Actor, reason: str,
                on: dt.date | None = None) -> Paper:
        """Issue a corrected paper that replaces ``paper_id``: the same paper, with a new
        number, the agencies' current data and the reason, naming the one it replaces. A
        paper is corrected once: correct its replacement next."""
        actor = check_actor(actor, self.divisions)
        reason = check_text(reason, "the reason of a correction", TEXT_MAX, lines=True)
        on = today() if on is None else on
        with self.store.transaction() as tx:
            printed = tx.paper(_paper_id(paper_id))
            if printed is None:
                raise PaperNotFound(paper_id)
            old = printed.paper
            check_paper_correction(actor, old.agency, old.number)
            if any(p.replaces == old.id for p in self.store.papers(old.case_id)):
                raise InvalidInput(f"paper {old.number} was corrected already: correct the "
                                   "paper that replaced it")
            row = tx.row_for_step(old.case_id)
            assert row is not None  # a paper's case is never deleted
            d = self.definitions.get(row.definition_name, row.definition_version)
            content = dict(printed.content)
            seq = tx.next_paper_seq(old.agency, old.kind, on.year)
            number = self.agencies.number(old.agency, row.insurance, old.kind, on.year, seq)
            content.update(
                number=number, issued_on=on.isoformat(), clerk=actor.id,
                replaces={"number": old.number, "reason": reason},
                issuer=self.agencies.party(old.agency, row.insurance),
                origin=self.agencies.party(row.origin, row.insurance),
                destination=self.agencies.party(row.destination, row.insurance, account=True),
                title=d.title("paper", old.kind, "zh"))
            new_id = self._keep(tx, NewPaper(
                old.case_id, old.kind, old.agency, on.year, seq, number, content["title"], on,
                now(), actor.id, "", content, "", replaces=old.id, reason=reason))
            corrected = tx.paper(new_id)
        assert corrected is not None
        log.info("paper_corrected", case_id=old.case_id, paper_id=new_id, replaces=old.id,
                 kind=old.kind, actor=actor.id, role=actor.role, agency=actor.agency)
        return corrected.paper

    # --- reading and printing -------------------------------------------------------------
    def papers(self, case_id: int) -> list[Paper]:
        return self.store.papers(case_id)

    def printed(self, paper_id: object) -> PrintedPaper:
        found = self.store.paper(_paper_id(paper_id))
        if found is None:
            raise PaperNotFound(paper_id)
        return found

    @staticmethod
    def render(printed: PrintedPaper, fmt: str = "pdf") -> bytes:
        """The paper as kept, as HTML or as a PDF printed from that HTML."""
        if fmt not in FORMATS:
            raise InvalidInput(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        if fmt == "html":
            return printed.html.encode()
        from ..render.papers import render_paper_pdf

        return render_paper_pdf(printed.html)


def _fields(paper: NewPaper) -> dict[str, Any]:
    return {name: getattr(paper, name) for name in NewPaper.__dataclass_fields__}


def _paper_id(paper_id: object) -> int:
    """A paper number; one that cannot be in the database is simply not found."""
    if isinstance(paper_id, bool) or not isinstance(paper_id, int):
        raise InvalidInput(f"a paper id is a whole number, not {type(paper_id).__name__}")
    if not 1 <= paper_id < 2 ** 31:
        raise PaperNotFound(paper_id)
    return paper_id


__all__ = ["FORMATS", "PaperService"]
