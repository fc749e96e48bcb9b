"""Methods report: item 8 paragraph, automation disclosure, tables, diagram link."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from screener.core.decisions import Reviewer, Role, Stage
from screener.core.prisma import PrismaCounts
from screener.core.protocol import (
    Criterion,
    CriterionKind,
    ExclusionReason,
    Protocol,
    Resolution,
    ScreeningMode,
)
from screener.core.records import Record
from screener.exports.report import (
    AgreementRow,
    AutomationInfo,
    ExcludedReport,
    ReportInputs,
    StoppingInfo,
    agreement_table,
    methods_report,
)

PROTOCOL = Protocol(
    title="Early mobilisation after cardiac surgery",
    criteria=(Criterion("I1", CriterionKind.INCLUDE, "Adults after cardiac surgery"),
              Criterion("I2", CriterionKind.INCLUDE, "Randomised trials"),
              Criterion("E1", CriterionKind.EXCLUDE, "Children")),
    exclusion_reasons=(ExclusionReason("pop", "Wrong population", "1"),
                       ExclusionReason("design", "Wrong study design", "2")),
    screening=ScreeningMode(reviewers_per_record=2, blind=True,
                            resolution=Resolution.ADJUDICATOR, adjudicator="carol"),
)


def _inputs(counts: PrismaCounts) -> ReportInputs:
    return ReportInputs(
        protocol=PROTOCOL, counts=counts,
        reviewers=(Reviewer("alice"), Reviewer("bob"), Reviewer("carol", Role.ADJUDICATOR)),
        agreement=(AgreementRow(Stage.TITLE_ABSTRACT, "alice", "bob", 1568, 93.4, 0.71,
                                (0.66, 0.76), 0.87, 0.91),
                   AgreementRow(Stage.FULL_TEXT, "alice", "bob", 82, 87.8, None, None, 0.76,
                                0.81)),
        excluded_reports=(
            ExcludedReport(Record(title="Bed rest | a trial.", authors=("Lee, K", "Ng, P"),
                                  year=2018, journal="Heart", volume="4", pages="1-9",
                                  doi="10.1/x"), "Wrong population"),
            ExcludedReport(Record(title="Another", pmid="123", id=4), "Wrong study design"),
        ),
        automation=AutomationInfo(
            tool="screener", version="0.1.0", model="tfidf+logistic",
            config_hash="9f" * 8, config=(("C", "1.0"), ("ngram_range", "1-2")), seed=42,
            stopping=StoppingInfo(stopped=True, recall_target=0.95, confidence=0.95,
                                  consecutive_irrelevant=50, min_screened_fraction=0.1,
                                  key_papers=3, stopped_at="2026-03-04",
                                  values=(("records screened", "1,568 of 4,668 (33.6%)"),
                                          ("consecutive irrelevant", "50")))),
        prisma_svg="prisma diagram.svg",
    )


def test_report_matches_golden(counts: PrismaCounts,
                               golden: Callable[[str, str], None]) -> None:
    golden("report.md", methods_report(_inputs(counts)))


def test_report_covers_item_8_automation_and_16b(counts: PrismaCounts) -> None:
    text = methods_report(_inputs(counts))
    assert "screened by two reviewers, independently" in text
    # 3,100 records were excluded by automation: "every record ... by two reviewers" would
    # claim they were screened
    assert "At each stage every record screened and every retrieved report was screened" in text
    assert ("3,100 records from databases and registers were not screened by any reviewer: "
            "title and abstract screening stopped before reaching them") in text
    assert "resolved by an adjudicator (carol)" in text
    assert "screener version 0.1.0" in text and "random seed 42" in text
    assert "retrained after each screening decision" in text
    assert "an estimated recall of at least 95% with 95% confidence" in text
    assert "records screened: 1,568 of 4,668 (33.6%)" in text
    assert "(n = 3,100) are reported as excluded by automation tools" in text
    assert "| Title and abstract | alice and bob | 1,568 | 93.4 | 0.71 (0.66 to 0.76) |" in text
    assert "| Full text | alice and bob | 82 | 87.8 | n/a | 0.76 | 0.81 |" in text
    assert "Lee et al. Bed rest \\| a trial. Heart. 2018;4:1-9. doi:10.1/x" in text  # year once
    assert "| Wrong study design |" in text
    assert "![PRISMA 2020 flow diagram](<prisma diagram.svg>)" in text
    assert "| Records screened | 4,668 |" in text
    assert "do not add up" not in text


def test_a_protocol_trained_as_an_include_is_disclosed(counts: PrismaCounts) -> None:
    # ranking.params.protocol_include: the protocol's text took part in training, which a
    # reader of the methods must be told in words, not as a parameter name
    base = _inputs(counts)
    assert base.automation is not None
    plain = " ".join(methods_report(base).split())
    assert "part of every training set" not in plain
    auto = replace(base.automation, config=(*base.automation.config, ("protocol_include", "2")))
    text = " ".join(methods_report(replace(base, automation=auto)).split())
    assert ("The review's title, question, inclusion criteria and include terms were part of "
            "every training set as one relevant example, weighted like 2 included records."
            ) in text


def test_report_single_screening_without_automation(counts: PrismaCounts) -> None:
    inputs = replace(_inputs(counts), automation=None, agreement=(), excluded_reports=(),
                     protocol=replace(PROTOCOL, screening=ScreeningMode()),
                     counts=replace(counts, records_screened=1))
    text = methods_report(inputs)
    assert "screened by one reviewer" in text
    assert "No automation tools were used" in text
    assert "agreement is not reported" in text
    assert "**The counts do not add up:**" in text and "Records screened (n = 1)" in text


def test_single_screening_stopped_early_does_not_say_every_record_was_screened(
        counts: PrismaCounts) -> None:
    single = replace(PROTOCOL, screening=ScreeningMode())
    text = " ".join(methods_report(replace(_inputs(counts), protocol=single)).split())
    assert "Each record and each retrieved report was screened by one reviewer" not in text
    assert ("Each record screened at title and abstract, and each retrieved report, was "
            "screened by one reviewer. 3,100 records from databases and registers were not "
            "screened by any reviewer") in text
    finished = replace(counts, records_excluded_automation=0)
    text = methods_report(replace(_inputs(finished), protocol=single))
    assert "Each record and each retrieved report was screened by one reviewer." in text
    assert "not screened by any reviewer" not in text


def test_a_draft_says_each_record_screened_so_far(counts: PrismaCounts) -> None:
    # the demo's draft, 762 records not screened, read 'Each record and each retrieved
    # report was screened by one reviewer'
    finished = replace(counts, records_excluded_automation=0)
    single = replace(PROTOCOL, screening=ScreeningMode())
    draft = "DRAFT, not final: 762 records not screened yet"
    text = " ".join(methods_report(replace(_inputs(finished), protocol=single,
                                           draft=draft)).split())
    assert ("Each record and each retrieved report screened so far was screened by one "
            "reviewer.") in text
    # ("every record screened so far and every retrieved report was screened by two" was
    # false of the records and reports still waiting for their second reviewer)
    dual = " ".join(methods_report(replace(_inputs(finished), draft=draft, multi_screened=40,
                                           single_screened=20,
                                           full_text_screened=(3, 2))).split())
    assert ("Under the protocol each record and each retrieved report is screened by two "
            "reviewers, independently") in dual
    assert ("So far, at title and abstract, 40 records have been screened by two reviewers "
            "and 20 by one; at full text, 3 reports have been screened by two reviewers and "
            "2 by one.") in dual
    final = " ".join(methods_report(_inputs(finished)).split())
    assert ("At each stage every record and every retrieved report was screened by two "
            "reviewers, independently") in final


def test_before_any_full_text_screening_nothing_is_claimed_of_its_reports(
        counts: PrismaCounts) -> None:
    # "At full text every retrieved report screened so far was screened by two reviewers"
    # before any report was screened at full text: vacuous
    draft = "DRAFT, not final: 762 records not screened yet"
    none = replace(counts, records_excluded_automation=0, reports_assessed=0,
                   reports_excluded=0, reports_excluded_reasons=(), other_reports_assessed=0,
                   other_reports_excluded=0, other_reports_excluded_reasons=(),
                   studies_included=0, reports_included=0)
    split = " ".join(methods_report(replace(_inputs(none), draft=draft, split=((2, 2), (1, 8)))).split())
    assert "At full text" not in split
    assert "2 records were screened by two reviewers and 8 by one reviewer." in split
    assert "No report has been screened at full text yet." in split
    dual = " ".join(methods_report(replace(_inputs(none), draft=draft)).split())
    assert "retrieved report" not in dual
    assert ("Under the protocol each record is screened by two reviewers, "
            "independently") in dual
    assert "No report has been screened at full text yet." in dual
    final = " ".join(methods_report(_inputs(none)).split())
    assert "No report was screened at full text." in final
    # single screening said the same of its reports; and "Reports excluded at full text
    # were given one of 2 predefined exclusion reasons" of reports nobody had screened
    single = replace(PROTOCOL, screening=ScreeningMode())
    one = " ".join(methods_report(replace(_inputs(none), draft=draft, protocol=single)).split())
    assert "retrieved report" not in one and "predefined exclusion reasons" not in one
    assert ("Each record screened so far was screened by one reviewer. No report has been "
            "screened at full text yet.") in one
    for text in (split, dual, final):
        assert "predefined exclusion reasons" not in text
    screened = " ".join(methods_report(_inputs(counts)).split())
    assert "given one of 2 predefined exclusion reasons" in screened


def test_counts_of_one_are_singular(counts: PrismaCounts) -> None:
    one = replace(counts, records_excluded_automation=0)
    stop = StoppingInfo(stopped=False, consecutive_irrelevant=1, unscreened=1)
    text = methods_report(replace(_inputs(one), automation=None, stopping=stop,
                                  split=((2, 1), (1, 1)), imported_labels=(("earlier", 1, 0),),
                                  unlinked_rankings=1))
    assert "1 record has not been screened" in text
    assert "criteria were 1 consecutive irrelevant record and" in text
    assert "1 record was screened by two reviewers" in text
    assert "decisions on 1 record were imported" in text
    assert "screener computed 1 active-learning ranking of the records" in text
    assert "1 records" not in text


def test_the_stages_are_named_in_words(counts: PrismaCounts) -> None:
    """A title/abstract-only protocol read "Records were screened at 1 stage (title and
    abstract)"."""
    one = replace(PROTOCOL, stages=(Stage.TITLE_ABSTRACT,))
    text = methods_report(replace(_inputs(replace(counts, full_text=False)), protocol=one,
                                  excluded_reports=()))
    assert ("Records were screened in one stage (title and abstract) against the "
            "protocol's eligibility criteria") in text
    assert ("Records were screened in two stages (title and abstract, then full text) "
            "against") in methods_report(_inputs(counts))


def test_criteria_counts_and_defaulted_setting_agree_in_number(counts: PrismaCounts) -> None:
    """"2 inclusion criteria and 1 exclusion criterion", not "1 exclusion criteria"; one
    defaulted setting is "the default value was applied, so that criterion was"."""
    text = " ".join(methods_report(_inputs(counts)).split())
    assert "eligibility criteria (2 inclusion criteria and 1 exclusion criterion)." in text
    stop = StoppingInfo(stopped=False, key_papers=1, unscreened=5,
                        defaulted=("min_screened_fraction",))
    one = replace(_inputs(counts), automation=None, stopping=stop,
                  protocol=replace(PROTOCOL, criteria=PROTOCOL.criteria[:1]))
    text = " ".join(methods_report(one).split())
    assert "eligibility criteria (1 inclusion criterion)." in text
    assert "and the predefined key paper found." in text
    assert ("The protocol did not specify the minimum share of records screened: screener's "
            "default value was applied, so that criterion was not set in advance") in text


def test_a_kappa_from_few_records_says_why_it_has_no_interval() -> None:
    # a full-text kappa from 6 reports showed no CI, and nothing said why
    table = agreement_table((AgreementRow(Stage.TITLE_ABSTRACT, "ann", "bob", 18, 72.2, 0.41,
                                          (0.05, 0.77), 0.44, 0.52),
                             AgreementRow(Stage.FULL_TEXT, "ann", "bob", 6, 83.3, 0.62,
                                          None, 0.67, 0.7)))
    assert "0.41 (0.05 to 0.77)" in table and "0.62 (no CI*)" in table
    assert "\\* No confidence interval for κ from fewer than 10 records" in table
    assert "no CI" not in agreement_table((AgreementRow(
        Stage.TITLE_ABSTRACT, "ann", "bob", 18, 72.2, 0.41, (0.05, 0.77), 0.44, 0.52),))


def test_angle_brackets_in_a_table_cell_are_shown_not_read_as_html(
        counts: PrismaCounts) -> None:
    """A title with '<' (e.g. 'IQ <70 in ...') in the excluded-reports table: a Markdown
    viewer would take '<70 ...>' for an HTML tag and drop it; escaped, it shows."""
    inputs = _inputs(counts)
    odd = ExcludedReport(Record(title='Outcomes at IQ <70 and R&D <"test">', pmid="9"),
                         "Wrong population")
    text = methods_report(replace(inputs, excluded_reports=(odd,)))
    assert 'Outcomes at IQ \\<70 and R&D \\<"test">' in text
    assert "IQ <70" not in text


def _rendered(markdown: str) -> list[tuple[str, str]]:
    """(element, its text as a Markdown viewer shows it) for each heading, paragraph,
    list item and table cell, and each emphasis the viewer would draw."""
    from html.parser import HTMLParser

    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(markdown)
    blocks = {"h1", "h2", "p", "li", "td", "th", "em", "strong", "del"}

    class Texts(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.open: list[tuple[str, list[str]]] = []
            self.found: list[tuple[str, str]] = []

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag in blocks:
                self.open.append((tag, []))

        def handle_endtag(self, tag: str) -> None:
            if tag in blocks and self.open:
                name, parts = self.open.pop()
                self.found.append((name, "".join(parts)))
                if self.open:
                    self.open[-1][1].append("".join(parts))

        def handle_data(self, data: str) -> None:
            if self.open:
                self.open[-1][1].append(data)

    parser = Texts()
    parser.feed(html)
    return parser.found


ODD = "Mobilisation <internal> *stars* & _underscores_ [v2] ~~x~~ `tick` a\\b"


def test_user_text_in_headings_and_prose_is_shown_as_typed(counts: PrismaCounts) -> None:
    """A protocol title or source name with `<internal>` vanished in a Markdown viewer (read
    as an HTML tag), and `*stars*` or `_underscores_` turned into emphasis."""
    from screener.exports.report import ProtocolVersionInfo, SourceInfo

    inputs = _inputs(counts)
    first = ProtocolVersionInfo(1, "2026-01-01", "a" * 64, "initial protocol")
    later = ProtocolVersionInfo(2, "2026-02-01", "b" * 64, f"reason {ODD}",
                                changes=(f"the title (was {ODD})",), decided_before=3)
    text = methods_report(replace(
        inputs, protocol=replace(PROTOCOL, title=ODD),
        reviewers=(Reviewer(f"ann {ODD}"), Reviewer("bob"), Reviewer("carol", Role.ADJUDICATOR)),
        imported_labels=((f"asreview {ODD}", 4, 0),),
        protocol_versions=(first, later), title_at_creation=f"first {ODD}",
        sources=(SourceInfo(f"db {ODD}", "database", 10, query=f"q {ODD} | x"),
                 SourceInfo(f"file {ODD}", "other", 2, file_name=f"{ODD}.ris"))))
    shown = _rendered(text)
    assert ("h1", f"{ODD}: screening methods") in shown
    prose = " ".join(t for tag, t in shown if tag in ("p", "li"))
    for typed in (f"ann {ODD}", f"asreview {ODD}", f"first {ODD}", f"the title (was {ODD})",
                  f"db {ODD}", f"file {ODD}"):
        assert typed in prose, typed
    cells = [t for tag, t in shown if tag == "td"]
    assert f"db {ODD}" in cells and f"query: q {ODD} | x" in cells and f"file {ODD}" in cells
    assert f"file {ODD}.ris" in cells and f"reason {ODD}" in cells
    # the report's own emphasis (the late amendment) is the only one drawn
    assert [t for tag, t in shown if tag in ("em", "del")] == []
    assert [t for tag, t in shown if tag == "strong"] == [
        "Protocol version 2 was recorded on 2026-02-01, after screening had started"]


def test_an_update_search_not_dated_is_named_by_its_import_day() -> None:
    from screener.exports.report import DedupInfo, SourceInfo, identification_section

    sources = (SourceInfo("PubMed", "database", 10, searched_on="2020-01-15"),
               SourceInfo("PubMed", "database", 4, update="imported 2021-07-03"))
    text = " ".join(identification_section(sources, DedupInfo(ran=True, found_again=0))
                    .split())
    assert ("The searches were run on 2020-01-15 and updated in a search imported "
            "2021-07-03 (PubMed); none of the records the update found was one the earlier "
            "searches found.") in text
    plain = " ".join(identification_section(sources[:1], DedupInfo(ran=True)).split())
    assert "updated" not in plain


def test_an_update_of_an_undated_search_says_the_original_date_was_not_recorded() -> None:
    from screener.exports.report import DedupInfo, SourceInfo, identification_section

    def sentence(*sources: SourceInfo) -> str:
        return " ".join(identification_section(sources, DedupInfo(ran=True)).split())

    pubmed = (SourceInfo("PubMed", "database", 10),
              SourceInfo("PubMed", "database", 4, searched_on="2021-07-01",
                         update="2021-07-01"))
    assert ("The original search, whose date was not recorded, was updated on 2021-07-01 "
            "(PubMed).") in sentence(*pubmed)
    embase = (SourceInfo("Embase", "database", 8),
              SourceInfo("Embase", "database", 2, searched_on="2021-07-01",
                         update="2021-07-01"))
    assert ("The original searches, whose dates were not recorded, were updated on "
            "2021-07-01 (PubMed and Embase).") in sentence(*pubmed, *embase)
    dated = SourceInfo("Embase", "database", 8, searched_on="2020-01-15")
    assert ("The searches were run on 2020-01-15 (PubMed on a date not recorded) and "
            "updated on 2021-07-01 (PubMed and Embase).") in sentence(
                *pubmed, dated, embase[1])


def test_the_update_sentence_leaves_citation_searching_out_of_the_original_searches(
        ) -> None:
    """A PMID fetch for citation searching (other methods) a day after the PubMed search
    made "The searches were run on 2026-11-29 and 2026-11-30 and updated on 2026-11-30
    (PubMed)" (a tester's run): it is no database search, so no date of the searches."""
    from screener.exports.report import DedupInfo, SourceInfo, identification_section

    sources = (SourceInfo("PubMed", "database", 10, searched_on="2026-11-29"),
               SourceInfo("Citation searching", "other", 2, searched_on="2026-11-30",
                          query="PMIDs: 1 2"),
               SourceInfo("PubMed", "database", 4, searched_on="2026-11-30",
                          update="2026-11-30"))
    text = " ".join(identification_section(sources, DedupInfo(ran=True)).split())
    assert "The searches were run on 2026-11-29 and updated on 2026-11-30 (PubMed)." in text


def test_one_future_search_date_is_flagged_in_the_singular() -> None:
    from screener.exports.report import SourceInfo, identification_section

    text = " ".join(identification_section((SourceInfo(
        "PubMed", "database", 3, future_date="2999-01-01"),), None).split())
    assert "| PubMed | database | not given (a future date) | 3 |" in text
    assert ("The search date stored for PubMed (2999-01-01) is after the day this report "
            "was written, so it is not given as the day of the search: a planned date, "
            "which older versions of screener accepted.") in text
    assert "The date of the search was not recorded for" not in text
