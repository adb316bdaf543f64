"""Campaign files fuzzed: whatever a person (or a broken editor) writes, `load_campaign` returns a validated spec
or raises CampaignFileError with a message; never a traceback from YAML, pydantic or the file system."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coldstream.campaign_file import CampaignFileError, load_campaign
from coldstream_shared.campaign import CampaignSpec
from tests.property.documents import edited, paths

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
EXAMPLE = Path(__file__).parents[2] / "examples" / "campaign.yaml"
BASE: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.dates()
    | st.binary(max_size=10)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)
# Text the file system or Postgres chokes on: NUL, lone surrogates (a YAML "\ud800" escape), overlong names.
nasty_text = st.sampled_from(["a\x00b", "\ud800", "x" * 5000, "d/" * 3000 + "f", "..", "/", "~", "", " "])


def load(tmp: Path, content: bytes) -> CampaignSpec | None:
    """The property: a spec whose file sources exist, or CampaignFileError with a message."""
    path = tmp / "campaign.yaml"
    path.write_bytes(content)
    try:
        spec = load_campaign(path)
    except CampaignFileError as error:
        message = str(error)
    else:
        message = None
    if message is not None:
        assert message.strip()
        return None
    assert isinstance(spec, CampaignSpec)
    for source in spec.sources:
        assert source.path is None or Path(source.path).is_file()
    return spec


def dump(document: Any) -> bytes:
    # Everything outside printable ASCII (control characters, lone surrogates) is written as a YAML escape.
    return yaml.safe_dump(document, allow_unicode=False, sort_keys=False).encode()


@pytest.fixture(scope="module")
def folder() -> Any:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "leads.csv").write_text("email\nada@example.com\n")
        yield folder


def test_the_example_loads(folder: Path) -> None:
    assert load(folder, EXAMPLE.read_bytes()) is not None


@FUZZ
@given(content=st.binary(max_size=400) | st.text(max_size=400).map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_any_bytes(folder: Path, content: bytes) -> None:
    load(folder, content)


@FUZZ
@given(document=values)
def test_any_yaml_document(folder: Path, document: Any) -> None:
    load(folder, dump(document))


@FUZZ
@given(data=st.data())
def test_the_example_broken_one_field_at_a_time(folder: Path, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(paths(BASE)), label="path")
    how = data.draw(st.sampled_from(["drop", "replace", "nasty", "unknown_key"]), label="how")
    if how == "drop":
        document = edited(BASE, path, None, drop=True)
    elif how == "unknown_key":
        mapping = data.draw(st.sampled_from([()] + [p for p in paths(BASE) if isinstance(_get(BASE, p), dict)]))
        document = edited(BASE, (*mapping, data.draw(st.text(max_size=10), label="key")), 1)
    else:
        document = edited(BASE, path, data.draw(values if how == "replace" else nasty_text, label="value"))
    load(folder, dump(document))


@settings(FUZZ, max_examples=100)
@given(path=nasty_text | st.text(max_size=50))
def test_any_source_path(folder: Path, path: str) -> None:
    load(folder, dump(edited(BASE, ("sources", 0, "path"), path)))


@pytest.mark.parametrize(
    "content",
    [
        "id: x\nname: 2024-13-45\n",  # a timestamp-shaped scalar that is not a date: ValueError inside PyYAML
        "id: x\nname: 2001-12-14t21:59:43.10-25:00\n",  # a UTC offset datetime cannot represent
        "id: !!float foo\n",
        "id: !!int x\n",
        "id: !!python/object:os.system x\n",
        "id: !!binary '@@@'\n",
        "[" * 1100 + "]" * 1100,  # nesting deeper than PyYAML's recursion
        "a: &a [*a]\n",  # a document that contains itself
        "a: &a ['lol', 'lol']\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n"
        "icp:\n  titles: [*c, *c, *c, *c, *c, *c, *c, *c]\n",  # aliases that expand exponentially
        "\ufeff" + EXAMPLE.read_text(),  # a byte-order mark (Windows editors)
        EXAMPLE.read_text().replace("  ", "\t"),  # tabs for indentation
        EXAMPLE.read_text() + "\nid: again\n",  # a duplicate key
        "--- a\n--- b\n",  # two documents
        "\x00",
    ],
)
def test_yaml_oddities(folder: Path, content: str) -> None:
    load(folder, content.encode("utf-8", "surrogatepass"))


def test_latin1_bytes_are_a_clear_error(folder: Path) -> None:
    with pytest.raises(CampaignFileError, match="UTF-8"):
        load_campaign(_write(folder, EXAMPLE.read_text().replace("Sam Carter", "S\xe1m").encode("latin-1")))


def test_a_folder_instead_of_a_file(folder: Path) -> None:
    with pytest.raises(CampaignFileError):
        load_campaign(folder)


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def _write(folder: Path, content: bytes) -> Path:
    path = folder / "campaign.yaml"
    path.write_bytes(content)
    return path
