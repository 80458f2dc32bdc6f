"""Feedback HTML that is safe and renders offline: markdown cleaned, formulas as MathML.

nbgrader writes feedback pages with its own template (``feedback/index.html.j2``), which
(1) renders markdown cells with ``markdown2html`` and no cleaning at all, whatever
``HTMLExporter.sanitize_html`` says: a ``<script>`` in a student's markdown ran in the page of
whoever opened it; and (2) loads MathJax from a CDN, so without internet every formula showed
as raw ``$…$``. Feedback is opened anywhere (returned files, e-mail, an LMS).

:func:`configure` gives nbconvert two filters of this module. Every rendered markdown cell (and
comment) passes the template's ``strip_files_prefix`` filter right after ``markdown2html``: ours
(:func:`markdown_html`) also cleans it by an allowlist (bleach; the tags markdown produces, no
scripts, no event attributes) and turns its TeX (outside ``code``/``pre``) into MathML with
latex2mathml — from text only, after cleaning, so nothing the student wrote becomes markup;
every current browser renders MathML Core natively. Outputs are cleaned by :func:`clean_html`,
which replaces nbconvert's ``clean_html`` filter (``sanitize_html``) so that tables and
paragraphs in HTML outputs are kept rather than escaped. :func:`offline_page` then cuts the
MathJax loader out of the page. Doing the cleaning per cell while the page is rendered, rather
than parsing each finished page again, saves ~0.3 s of the ~1 s a feedback page costs.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import bleach
from bs4 import BeautifulSoup, NavigableString
from jinja2.bccache import Bucket, BytecodeCache
from latex2mathml.converter import convert

__all__ = [
    "clean_html",
    "configure",
    "markdown_html",
    "offline_page",
    "offline_pages",
    "reset_budget",
    "submission_language",
    "tex_to_mathml",
]

TAGS = sorted(
    {
        *bleach.ALLOWED_TAGS,
        *("p", "div", "span", "pre", "code", "br", "hr", "img", "sup", "sub", "del", "s", "kbd"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"),
        *("details", "summary", "dl", "dt", "dd"),
    }
)
ATTRIBUTES = {
    **bleach.ALLOWED_ATTRIBUTES,
    "*": ["class", "id"],
    "img": ["src", "alt", "title", "width", "height"],
    "th": ["align", "colspan", "rowspan"],
    "td": ["align", "colspan", "rowspan"],
    "ol": ["start"],
}
PROTOCOLS = ["http", "https", "mailto", "data"]
#: what latex2mathml writes; its output is cleaned again (it copies ``\\text{<…>}`` verbatim)
MATHML_TAGS = [
    *("math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac"),
    *("msqrt", "mroot", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded"),
    *("mphantom", "menclose", "merror", "semantics", "annotation"),
]
MATHML_ATTRIBUTES = [
    *("xmlns", "display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace"),
    *("columnalign", "columnspacing", "rowspacing", "width", "height", "depth", "linethickness"),
    *("displaystyle", "scriptlevel", "accent", "accentunder", "movablelimits", "notation", "minsize", "maxsize"),
]
_ALL_TAGS = sorted({*TAGS, *MATHML_TAGS})
_ALL_ATTRIBUTES = {**ATTRIBUTES, **{tag: MATHML_ATTRIBUTES for tag in MATHML_TAGS}}
#: display maths first ($$…$$, \[…\]), then inline ($…$ not touching spaces inside, \(…\))
MATH = re.compile(
    r"\$\$(?P<d1>.+?)\$\$|\\\[(?P<d2>.+?)\\\]|\\\((?P<i2>.+?)\\\)|(?<![\\$])\$(?P<i1>[^\s$](?:[^$]*?[^\s$\\])?)\$(?!\d)",
    re.DOTALL,
)
#: longer TeX is left as text (bounded work on untrusted input)
MAX_TEX = 2000
MAX_FORMULAS = 2000


def tex_to_mathml(tex: str, display: bool = False) -> str | None:
    """MathML for one TeX formula, or None if latex2mathml cannot read it (the TeX is kept)."""
    if len(tex) > MAX_TEX:
        return None
    try:
        mathml = convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds of errors on TeX it does not know
        return None
    return bleach.clean(mathml, tags=MATHML_TAGS, attributes={"*": MATHML_ATTRIBUTES}, protocols=[], strip=True)


def _mathify(soup: BeautifulSoup, budget: int = MAX_FORMULAS) -> int:
    """Replace TeX in the text of ``soup`` by MathML, at most ``budget`` formulas; how many left."""
    for node in list(soup.find_all(string=True)):
        if budget <= 0:
            break
        if node.find_parent(["code", "pre", "script", "style", "math"]) or "$" not in node and "\\" not in node:
            continue
        text, pieces, last = str(node), [], 0
        for m in MATH.finditer(text):
            if budget <= 0:
                break
            display = m.group("d1") is not None or m.group("d2") is not None
            tex = next(g for g in (m.group("d1"), m.group("d2"), m.group("i1"), m.group("i2")) if g is not None)
            mathml = tex_to_mathml(tex, display)
            if mathml is None:
                continue
            pieces += [NavigableString(text[last : m.start()]), BeautifulSoup(mathml, "html.parser")]
            last = m.end()
            budget -= 1
        if pieces:
            pieces.append(NavigableString(text[last:]))
            for piece in pieces:
                node.insert_before(piece)
            node.extract()
    return budget


def clean_html(element: str | bytes) -> str:
    """nbconvert's ``clean_html`` filter with the tags markdown, HTML tables and MathML need."""
    element = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(element, tags=_ALL_TAGS, attributes=_ALL_ATTRIBUTES, protocols=PROTOCOLS, strip=True)


#: formulas still to convert in the current feedback run (:func:`reset_budget` starts one)
_budget = [MAX_FORMULAS]


def reset_budget(formulas: int = MAX_FORMULAS) -> None:
    """Start a feedback run: at most ``formulas`` TeX formulas become MathML in it (bounded work)."""
    _budget[0] = formulas


def markdown_html(html: str) -> str:
    """The template's ``strip_files_prefix`` filter, then the rendered markdown cleaned and its TeX as MathML.

    ``html``: one markdown cell (or comment) as ``markdown2html`` rendered it.
    """
    from nbconvert.filters import strip_files_prefix

    soup = BeautifulSoup(clean_html(strip_files_prefix(html)), "html.parser")
    if _budget[0] > 0:
        _budget[0] = _mathify(soup, _budget[0])
    return str(soup)


def _is_mathjax(script) -> bool:
    return "mathjax" in (script.get("src") or "").lower() or script.get("type") == "text/x-mathjax-config"


#: nbgrader's feedback template (feedback/index.html.j2) in Chinese: its labels around the cells
CHROME_ZH = [
    (re.compile(r"\(Score: ([\d.]+) / ([\d.]+)\)"), r"（得分：\1 / \2）"),
    (re.compile(r"Score: ([\d.]+) / ([\d.]+)"), r"得分：\1 / \2"),
    (re.compile(r"^Comments:$"), "评语："),
    (re.compile(r"^Comment$"), "评语"),
    (re.compile(r"^Test cell$"), "测试单元格"),
    (re.compile(r"^Coding free-response$"), "编程作答"),
    (re.compile(r"^Written response$"), "书面作答"),
    (re.compile(r"^Task$"), "任务"),
    (re.compile(r"^\(Top\)$"), "（回到顶部）"),
    (re.compile(r"^Student's answer$"), "学生的答案"),
    (re.compile(r"^Student's task$"), "学生的任务"),
    (re.compile(r"^Grade cell:\s*$"), "评分单元格："),
    (re.compile(r"^Task:\s*$"), "任务："),
]


_CHROME_WORDS = re.compile(r"Score|Test cell|Top|Student's|Grade cell|Comment|Task|response")


def _translate_chrome(soup: BeautifulSoup) -> None:
    """nbgrader's labels in Chinese; the cells' own content (markdown, code, outputs) is left alone."""
    if soup.html is not None:
        soup.html["lang"] = "zh-CN"
    for text in list(soup.find_all(string=_CHROME_WORDS)):  # a cheap filter before walking up the tree
        if text.find_parent(["pre", "code", "script", "style"]) or text.find_parent(
            "div", class_=["text_cell_render", "output_wrapper", "output_area", "input_area"]
        ):
            continue
        value = str(text)
        new = value.strip()
        for pattern, repl in CHROME_ZH:
            new = pattern.sub(repl, new)
        if new != value.strip():
            text.replace_with(NavigableString(value.replace(value.strip(), new)))


#: what nbconvert's ``mathjax`` macro (templates/base/mathjax.html.j2) writes into the page head
_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL)


def offline_page(page: str, lang: str = "en") -> str:
    """A feedback page without the MathJax loader (its cells were cleaned while it was rendered).

    The loader is the template's own text in the page head, before any cell, so it is cut by its
    comments; a template that writes it differently is parsed instead. ``lang`` ``zh_CN``:
    nbgrader's labels around the cells (score, "Test cell", "(Top)") in Chinese.
    """
    head_end = page.find("</head>")
    head, body = (page[:head_end], page[head_end:]) if head_end >= 0 else ("", page)
    head, cut = _MATHJAX.subn("", head, count=1)
    page = head + body
    if cut and not lang.startswith("zh"):
        return page
    soup = BeautifulSoup(page, "html.parser")
    for script in soup.find_all("script"):
        if _is_mathjax(script):
            script.decompose()
    if lang.startswith("zh"):
        _translate_chrome(soup)
    return str(soup)


def submission_language(folder: Path) -> str:
    """The language of the autograded notebook(s) in ``folder`` (``metadata.kd_course.lang``; en if none)."""
    import nbformat

    from kdlib.i18n.build import language_of

    for path in sorted(Path(folder).glob("*.ipynb")):
        try:
            return language_of(nbformat.read(path, as_version=4))
        except Exception:
            continue
    return "en"


def offline_pages(folder: Path, lang: str = "en") -> int:
    """Rewrite every ``*.html`` page under ``folder`` with :func:`offline_page`; how many."""
    pages = sorted(Path(folder).rglob("*.html"))
    for page in pages:
        page.write_text(offline_page(page.read_text(encoding="utf-8"), lang), encoding="utf-8")
    return len(pages)


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled Jinja templates kept in memory, keyed by name and source checksum (jinja2 checks it)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _MemoryBytecodeCache()

#: what the closing pass of nbconvert's HTMLExporter looks for (matched case-insensitively:
#: a superset of what its CSS selectors find, so the pass is never skipped where it would act)
_PAGE_PASS = re.compile(r"<img\b|jp-cell-inputwrapper|jp-outputarea-output", re.IGNORECASE)


class _Rendered(str):
    """A page the closing pass would leave as it is: no element selected, ``str()`` the page."""

    def select(self, selector: str) -> list:
        return []


def _page_soup(parse, html: str, *args, **kwargs):
    """nbconvert's ``BeautifulSoup(page)`` where its pass acts on the page, else the page itself."""
    return parse(html, *args, **kwargs) if _PAGE_PASS.search(html) else _Rendered(html)


@functools.cache
def _exporter():
    from nbconvert.exporters import HTMLExporter

    class FeedbackExporter(HTMLExporter):
        """nbconvert's HTMLExporter compiling its Jinja templates once per process, not once per page.

        nbgrader makes a new exporter, and nbconvert a new Jinja environment, for every
        feedback run: recompiling the ~27 templates of a page cost ~0.15 s per student. It also
        skips nbconvert's closing pass over pages it would not change (:meth:`from_notebook_node`).
        """

        def _create_environment(self):
            env = super()._create_environment()
            env.bytecode_cache = _TEMPLATES
            return env

        def from_notebook_node(self, nb, resources=None, **kw):
            """HTMLExporter's page, its closing pass over the page run only where it changes something.

            nbconvert parses every finished page again with BeautifulSoup to give images without
            ``alt`` a text and to make lab-template cells focusable (``tabindex``): ~0.15 s a page,
            half of what a feedback page costs. Feedback pages use the classic template, which
            writes no such cells, and most have no image (1 of 269 in ``make test``): for those the
            pass would only re-serialise the page, so the page is returned as rendered. Pages
            with an ``<img`` get nbconvert's pass unchanged.
            """
            from nbconvert.exporters import html as html_exporter

            parse = html_exporter.BeautifulSoup
            html_exporter.BeautifulSoup = functools.partial(_page_soup, parse)
            try:  # graders render one page at a time per process: a scoped swap is enough
                return super().from_notebook_node(nb, resources, **kw)
            finally:
                html_exporter.BeautifulSoup = parse

    return FeedbackExporter


def configure(cfg) -> None:
    """Set a traitlets Config: cleaning filters of this module, templates compiled once per process."""
    cfg.GenerateFeedback.exporter_class = _exporter()
    cfg.HTMLExporter.sanitize_html = True
    cfg.HTMLExporter.filters = {
        "clean_html": "kdlib.grading.host.feedback.clean_html",
        "strip_files_prefix": "kdlib.grading.host.feedback.markdown_html",
    }


def generate(course_dir: Path, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Feedback pages from the gradebook as it is now (manual scores and comments included).

    nbgrader's ``generate_feedback`` with this module's cleaning and offline maths: what an
    instructor runs after grading by hand (``python -m kdlib.grading feedback NAME``).
    Returns the pages written.
    """
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    from kdlib.grading.course import config

    course_dir = Path(course_dir)
    written: list[Path] = []
    for student in students or ["*"]:
        cfg = config(course_dir)
        cfg.CourseDirectory.root = str(course_dir)
        cfg.CourseDirectory.assignment_id = assignment
        cfg.CourseDirectory.student_id = student
        configure(cfg)
        converter = GenerateFeedback(coursedir=CourseDirectory(config=cfg), config=cfg)
        converter.force = True
        reset_budget()
        converter.start()
        feedback_root = Path(converter.coursedir.format_path(converter.coursedir.feedback_directory, ".", "."))
        for folder in sorted(feedback_root.glob(f"{student}/{assignment}")):
            offline_pages(folder, submission_language(course_dir / "autograded" / folder.parent.name / assignment))
            written += sorted(folder.rglob("*.html"))
    return written
