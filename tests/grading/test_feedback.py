"""Feedback pages: markdown cleaned by an allowlist, TeX as MathML, no MathJax CDN."""

from __future__ import annotations

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from traitlets.config import Config

from kdlib.grading.host import feedback

MARKDOWN = (
    "## Loss\n\nThe loss $\\mathcal{L} = T^2 \\cdot \\mathrm{KL}(p_t \\| p_s)$ costs $5 and $x<y$.\n\n"
    "$$\\frac{1}{B}\\sum_b \\ell_b$$\n\n`$not$ maths` and\n\n```\n$still not$\n```\n\n"
    "<script>window.kdPwned = 1</script> <img src=x onerror=alert(1)> $\\text{<b/onclick=alert(2)>}$\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n"
)


@pytest.fixture(scope="module")
def page() -> str:
    """A feedback-like page: nbconvert's classic template (same markdown rendering and MathJax loader)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(MARKDOWN), nbformat.v4.new_code_cell("x = 1  # $not$ maths")]
    cfg = Config()
    feedback.configure(cfg)
    feedback.reset_budget()
    html, _ = HTMLExporter(config=cfg, template_name="classic").from_notebook_node(nb)
    assert "mathjax" in html.lower()  # the template loads it from a CDN ...
    return feedback.offline_page(html)


def test_no_mathjax_loader_is_left(page):
    scripts = BeautifulSoup(page, "html.parser").find_all("script")
    assert not [s for s in scripts if "mathjax" in (s.get("src", "") + s.get("type", "") + s.get_text()).lower()]


def test_formulas_become_mathml_and_code_stays_text(page):
    soup = BeautifulSoup(page, "html.parser")
    maths = soup.find_all("math")
    assert [m.get("display") for m in maths] == ["inline", "inline", "block"]
    assert "ℒ" in maths[0].get_text() and "KL" in maths[0].get_text().replace("\n", "")
    assert "$5 and" in page  # a lone dollar is money, not maths
    assert soup.find("code").get_text() == "$not$ maths"
    assert "$still not$" in soup.find("pre").get_text()


def test_markup_is_kept_but_scripts_and_handlers_are_not(page):
    soup = BeautifulSoup(page, "html.parser")
    cell = soup.select_one("div.text_cell_render")
    assert cell.find("h2") and cell.find("table") and cell.find("p")  # not escaped as text
    assert not cell.find("script")
    assert not [t for t in soup.find_all(True) if any(a.startswith("on") for a in t.attrs)]
    assert "kdPwned" not in " ".join(s.get_text() for s in soup.find_all("script"))


def test_tex_that_latex2mathml_cannot_read_stays_as_text():
    assert feedback.tex_to_mathml(r"\frac{1}{") is None
    assert feedback.tex_to_mathml("x" * (feedback.MAX_TEX + 1)) is None
    feedback.reset_budget()
    out = feedback.markdown_html("<p>bad $\\frac{1}{$ here</p>")
    assert "bad $\\frac{1}{$ here" in out


def test_the_number_of_formulas_converted_is_bounded_per_feedback_run():
    feedback.reset_budget()
    many = "<p>" + " ".join(f"${i}$" for i in range(feedback.MAX_FORMULAS - 10)) + "</p>"
    first = BeautifulSoup(feedback.markdown_html(many), "html.parser")
    second = BeautifulSoup(feedback.markdown_html("<p>$a$ $b$ " + " ".join(["$c$"] * 20) + "</p>"), "html.parser")
    assert len(first.find_all("math")) == feedback.MAX_FORMULAS - 10
    assert len(second.find_all("math")) == 10, "the budget spans the cells of one run"
    feedback.reset_budget()
    assert len(BeautifulSoup(feedback.markdown_html("<p>$a$</p>"), "html.parser").find_all("math")) == 1


def test_a_page_whose_loader_is_written_differently_is_still_cleaned_of_it():
    page = '<html><head><script src="https://cdn/MathJax.js"></script></head><body><p>ok</p></body></html>'
    out = feedback.offline_page(page)
    assert "<script" not in out and "<p>ok</p>" in out


def _render(nb, exporter_class) -> str:
    cfg = Config()
    feedback.configure(cfg)
    feedback.reset_budget()
    html, _ = exporter_class(config=cfg, template_name="classic").from_notebook_node(nb)
    return html


def _text_notebook():
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print('hi')")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi &amp; <b>bye</b>\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("## Loss\n\nSee $x^2$ and **this** &nbsp; [link](https://a.b)."), code]
    return nb


def test_a_page_without_images_skips_nbconvert_s_closing_pass_and_is_the_same_document(monkeypatch):
    import nbconvert.exporters.html as html_exporter

    calls = []
    real = html_exporter.BeautifulSoup

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(html_exporter, "BeautifulSoup", spy)
    nb = _text_notebook()
    fast = _render(nbformat.from_dict(nb), feedback._exporter())
    assert not calls, "a page with no <img> must not be parsed again"
    slow = _render(nbformat.from_dict(nb), HTMLExporter)
    assert calls, "nbconvert's own exporter parses every page (the pass this skips)"
    assert fast != slow  # nbconvert's pass re-serialises the page ...
    # ... but the document is the same: parsed, both give the same tree
    assert str(BeautifulSoup(fast, "html.parser")) == str(BeautifulSoup(slow, "html.parser"))


def test_a_page_with_an_image_still_gets_nbconvert_s_alt_text():
    nb = _text_notebook()
    plot = nbformat.v4.new_code_cell("plot()")
    plot.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    nb.cells.append(plot)
    page = _render(nb, feedback._exporter())
    imgs = BeautifulSoup(page, "html.parser").find_all("img")
    assert imgs and all(img.get("alt") == "No description has been provided for this image" for img in imgs)
