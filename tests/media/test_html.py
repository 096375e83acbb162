"""Html: a .html file; the injected style is inline, never a link."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest

import localrun
from localrun.errors import MediaTypeError

from .readback import FIXTURES, file_of, last


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(text):
    p = Tags()
    p.feed(text)
    return p.tags


def test_a_string_with_inline_style(run):
    localrun.log({"custom_string": localrun.Html('<a href="https://mysite">Link</a>')})
    value = last(run, "custom_string")
    assert value["_type"] == "html-file"
    text = file_of(run, value).read_text()
    tags = parse(text)
    assert ("style", {}) in tags
    assert not any(tag == "link" for tag, _ in tags)
    assert ("a", {"href": "https://mysite"}) in tags


def test_an_open_file_without_injection_is_stored_as_is(run):
    with open(FIXTURES / "sample.html") as f:
        localrun.log({"custom_file": localrun.Html(f, inject=False)})
    assert (
        file_of(run, last(run, "custom_file")).read_bytes()
        == (FIXTURES / "sample.html").read_bytes()
    )


def test_style_goes_into_an_existing_head(run):
    with open(FIXTURES / "sample.html") as f:
        localrun.log({"page": localrun.Html(f)})
    text = file_of(run, last(run, "page")).read_text()
    assert text.startswith("<html><head><style>")
    assert text.count("<head") == 1


def test_a_path_string_to_an_html_file_is_read(run):
    localrun.log({"page": localrun.Html(str(FIXTURES / "sample.html"), inject=False)})
    assert "a fixture page" in file_of(run, last(run, "page")).read_text()


def test_bytes_io():
    assert "<b>x</b>" in localrun.Html(io.BytesIO(b"<b>x</b>")).html


def test_bad_input():
    with pytest.raises(MediaTypeError, match="not int"):
        localrun.Html(5)


def test_style_is_not_put_inside_a_header_element():
    page = localrun.Html("<body><header>top</header></body>").html
    assert page.startswith("<head><style>")
    assert "<header>top</header>" in page


def test_pages_compare_equal_when_their_html_is():
    page = "<html><body><h1>Hello</h1></body></html>"
    assert localrun.Html(page) == localrun.Html(page)
    assert localrun.Html(page) != localrun.Html(page, inject=False)
    assert localrun.Html(page) != page
