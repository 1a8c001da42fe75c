"""The dataset card ``OUT/README.md`` after ``prefdata report``: a valid Hub header, the summary, the link."""

from __future__ import annotations

import re

import yaml

from prefdata.build.card import BEGIN_MARK, DEFAULT_INTRO, END_MARK, UserEdits, render_card, size_category
from prefdata.report import report
from tests.report.report_datasets import REJECTS, simple_rows, write_dataset


def header_and_body(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def test_card_gains_summary_and_link_with_a_valid_header(rich_dataset):
    out, _ = rich_dataset
    result = report(out)
    assert result.card_path == out.resolve() / "README.md"
    header, body = header_and_body(result.card_path.read_text(encoding="utf-8"))
    assert header["license"] == "other"
    assert header["task_categories"] == ["text-generation"]
    assert header["size_categories"] == ["n<1K"]
    (config,) = header["configs"]
    assert re.fullmatch(r"prefdata shards [0-9a-f]{16}", config.pop("description"))
    assert config == {"config_name": "default", "data_files": [
        {"split": "train", "path": "data/train-*.parquet"}, {"split": "test", "path": "data/test-*.parquet"}]}
    assert "## Quality" in body and "[report.html](report.html)" in body
    assert "**Checks failed**" in body and "chosen longer than rejected (of all pairs)" in body
    assert "the same length)" in body  # length_bias leaves those pairs out: both shares can be read off
    assert "failed check `length_bias` (warn)" in body


def test_card_header_is_what_the_hub_libraries_read(rich_dataset, tmp_path):
    """``huggingface_hub`` parses the header and ``datasets`` maps the splits to the shards through it."""
    import pytest

    huggingface_hub = pytest.importorskip("huggingface_hub")
    datasets = pytest.importorskip("datasets")
    out, _ = rich_dataset
    report(out)
    card = huggingface_hub.DatasetCard.load(out / "README.md")
    assert card.data.license == "other" and card.data.task_categories == ["text-generation"]
    # A fresh cache: datasets keys local folders by name, so another test's "out" could be served instead.
    ds = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf-cache"))
    assert {name: split.num_rows for name, split in ds.items()} == {"train": 121, "test": 30}


def test_a_readme_prefdata_did_not_write_is_left_alone(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(4)}, manifest=False)
    (out / "README.md").write_text("my own card\n")
    result = report(out)
    assert result.card_path is None
    assert (out / "README.md").read_text() == "my own card\n"
    assert any("README.md left as is" in n for n in result.notes)


def test_without_manifest_the_card_the_report_wrote_is_refreshed_and_one_edited_is_kept(tmp_path):
    """The card written without a manifest was never refreshed: the next report found a README.md and
    took it for the user's. Its last line marks it as the report's; without that line it is kept."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(4)}, manifest=False)
    assert "pairs written | 4" in report(out).card_path.read_text()
    write_dataset(tmp_path / "out", {"train": simple_rows(6)}, manifest=False)
    result = report(out)
    assert result.card_path is not None and "pairs written | 6" in result.card_path.read_text()
    mine = "\n".join(line for line in result.card_path.read_text().splitlines() if "<!-- written by" not in line)
    (out / "README.md").write_text(mine)
    result = report(out)
    assert result.card_path is None and (out / "README.md").read_text() == mine
    assert any("README.md left as is" in n for n in result.notes)


def test_without_manifest_or_readme_the_card_leaves_the_loaders_splits_as_they_were(tmp_path):
    """Shards named ``train_0``/``test_0`` by another tool: the card written for them has no ``configs:``
    (one made from the names mapped split ``train_0.parquet`` to ``data/train_0.parquet-*.parquet``,
    which matches nothing, and ``load_dataset`` failed after the report)."""
    import pytest

    datasets = pytest.importorskip("datasets")
    out = write_dataset(tmp_path / "out", {"train": simple_rows(4), "test": simple_rows(2, seed=1)}, manifest=False)
    for split in ("train", "test"):
        (out / "data" / f"{split}-00000-of-00001.parquet").rename(out / "data" / f"{split}_0.parquet")
    header, body = header_and_body(report(out).card_path.read_text())
    assert "configs" not in header
    assert "pairs written | 6" in body
    assert "Provenance unknown" in body and "Built by" not in body  # no claim the data cannot back
    ds = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf-cache"))
    assert {name: split.num_rows for name, split in ds.items()} == {"train": 4, "test": 2}


def test_without_manifest_the_card_invents_no_counts_and_points_at_no_manifest(tmp_path):
    """The card printed "records read | 0" and "records rejected | 0" for counts no file records (the
    report says "—" and counts rejects/), and sent the reader to a manifest.json that is not there."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(4)}, manifest=False, rejects=REJECTS)
    _, body = header_and_body(report(out).card_path.read_text())
    assert "| records read | unknown |" in body
    assert "| records rejected | 3 |" in body and "- tie: 2" in body  # as report.md counts rejects/
    assert "manifest.json" not in body
    _, body = header_and_body(report(write_dataset(tmp_path / "bare", {"train": simple_rows(4)}, manifest=False)).card_path.read_text())
    assert "| records read | unknown |" in body and "| records rejected | unknown |" in body


def test_no_card_option_leaves_readme(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(4)})
    (out / "README.md").write_text("as built\n")
    assert report(out, card=False).card_path is None
    assert (out / "README.md").read_text() == "as built\n"


def test_render_card_stays_compatible_and_escapes_manifest_names():
    manifest = {
        "prefdata_version": "0.1.0",
        "inputs": [{"path": "a|<b>.jsonl", "source": "<i>x</i>", "shape": "pairwise", "records": 3, "sha256": "ab" * 32}],
        "outputs": [{"path": "data/train-00000-of-00001.parquet", "split": "train"}],
        "counts": {"records_read": 3, "pairs_written": 3, "records_rejected": 0, "pairs_by_split": {"train": 3}},
    }
    text = render_card(manifest)  # what `prefdata build` calls: no summary, no link
    assert "## Quality" not in text
    assert "| records read | 3 |" in text and text.endswith("hashes) is in `manifest.json`.\n\n" + END_MARK + "\n")
    assert "a\\|&lt;b&gt;.jsonl" in text and "&lt;i&gt;x&lt;/i&gt;" in text and "<i>" not in text
    assert size_category(999) == "n<1K" and size_category(1000) == "1K<n<10K" and size_category(10**6) == "1M<n<10M"


def _build(tmp_path, out_name="out"):
    import json

    import prefdata

    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"prompt": f"Question {i}?", "chosen": f"Good {i}.", "rejected": f"Bad {i}."}) + "\n" for i in range(6)))
    return prefdata.build(raw, tmp_path / out_name, quiet=True).out


def test_a_licence_title_and_notes_the_user_wrote_in_the_card_survive_report_and_rebuild(tmp_path):
    """The card says to set the licence before publishing; report and rebuild wrote `license: other`
    back and dropped the description, saying nothing."""
    import prefdata

    out = _build(tmp_path)
    card = out / "README.md"
    text = card.read_text()
    text = text.replace("license: other", "license: cc-by-4.0\npretty_name: Colour prefs")
    text = text.replace("size_categories:\n- n<1K", "size_categories:\n- 1M<n<10M")  # computed: put back
    text = text.replace("# Preference dataset", "# Colour prefs\n\nCollected by our team in 2026.")
    card.write_text(text + "\n## Citation\n\nPlease cite us.\n")
    for step in (lambda: report(out), lambda: prefdata.build(tmp_path / "raw.jsonl", out, quiet=True)):
        step()
        header, body = header_and_body(card.read_text())
        assert header["license"] == "cc-by-4.0" and header["pretty_name"] == "Colour prefs"
        assert header["size_categories"] == ["n<1K"]
        assert body.lstrip().startswith("# Colour prefs\n\nCollected by our team in 2026.")
        assert body.rstrip().endswith("## Citation\n\nPlease cite us.")
        assert "is a placeholder" not in body and body.count("## Counts") == 1 and body.count("Collected by") == 1
    assert "## Quality" not in body  # the rebuild's card: the report's summary described the old pairs


def test_an_unedited_card_is_rendered_as_a_fresh_build_renders_it(tmp_path):
    import prefdata

    out = _build(tmp_path)
    prefdata.build(tmp_path / "raw.jsonl", out, quiet=True)
    assert (out / "README.md").read_bytes() == (_build(tmp_path, "fresh") / "README.md").read_bytes()


def test_a_card_without_the_marks_is_rewritten_whole(tmp_path):
    """Text outside the marks is the user's; with the marks deleted there is no telling, so prefdata's card comes back."""
    out = _build(tmp_path)
    (out / "README.md").write_text("---\nlicense: mit\n---\n\n# Mine\n\nMy own words.\n")
    report(out)
    header, body = header_and_body((out / "README.md").read_text())
    assert header["license"] == "mit" and "configs" in header
    assert "My own words" not in body and "# Preference dataset" in body and "## Quality" in body


def _split_card(text: str) -> tuple[str, str]:
    """The header's text (between the ``---`` lines) and the rest."""
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return head, body


def test_the_header_a_user_edited_is_kept_as_written_but_for_the_computed_keys(tmp_path):
    """The header went through PyYAML's YAML 1.1 round trip at each report and rebuild: ``language: [no]``
    (Norwegian) came back ``[false]``, ``0755`` as 493, ``1.10`` as 1.1, ``on`` as true, ``1_000`` as
    1000, comments were dropped and the user's keys moved below ``tags``. Only ``configs`` and
    ``size_categories`` are the card's; the rest is the user's text, character for character."""
    from click.testing import CliRunner

    import prefdata
    from prefdata.cli import cli

    out = _build(tmp_path)
    card = out / "README.md"
    head, body = _split_card(card.read_text())
    configs = head[head.index("configs:"):] + "\n"
    user = ("# our card\npretty_name: 0755   # as written\nlanguage: [no, en]\nversion: 1.10\nflag: on\ncode: 1_000\n"
            "license: mit\nsize_categories: [1M<n<10M]\n# the files\n\nconfigs: []\ntask_categories: ['text-generation']\n")
    card.write_text(f"---\n{user}---\n{body}")
    want = user.replace("size_categories: [1M<n<10M]\n", "size_categories:\n- n<1K\n").replace("configs: []\n", configs)
    for step in (lambda: CliRunner().invoke(cli, ["report", str(out)]), lambda: prefdata.build(tmp_path / "raw.jsonl", out, quiet=True)):
        step()
        head, body = _split_card(card.read_text())
        assert head + "\n" == want
        assert "is a placeholder" not in body and "# Preference dataset" in body
    assert yaml.safe_load(head)["configs"][0]["config_name"] == "default"


def test_a_header_that_does_not_parse_is_kept_and_the_error_named(tmp_path):
    """One unquoted colon made the header YAML that does not parse, and the next report or rebuild wrote
    the default header (the user's ``license: mit`` became ``other``) without a word."""
    from click.testing import CliRunner

    import prefdata
    from prefdata.cli import cli

    out = _build(tmp_path)
    card = out / "README.md"
    _, body = _split_card(card.read_text())
    user = "license: mit\npretty_name: Support chats: 2024 export\nlanguage:\n- en\n"
    card.write_text(f"---\n{user}---\n{body}")
    result = CliRunner().invoke(cli, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert card.read_text().startswith(f"---\n{user}---\n")
    assert (f"warning: {card}: its YAML header does not parse (mapping values are not allowed here in "
            f'"{card}", line 3, column 27); it is kept as written') in " ".join(result.output.split())
    assert prefdata.report(out).warnings[0].startswith(f"{card}: its YAML header does not parse")
    built = prefdata.build(tmp_path / "raw.jsonl", out, quiet=True)
    assert card.read_text().startswith(f"---\n{user}---\n") and "## Counts" in card.read_text()
    assert any("does not parse" in w and "configs and size_categories" in w for w in built.warnings)
    # not a mapping: kept as well
    card.write_text(f"---\n- mit\n---\n{body}")
    assert "its YAML header is a list, not a mapping" in prefdata.report(out).warnings[0]
    assert card.read_text().startswith("---\n- mit\n---\n")


def test_the_computed_keys_are_spliced_into_the_header_text():
    from prefdata.build.card import UserEdits, header_text

    manifest = {"outputs": [{"path": "data/train-00000-of-00001.parquet", "split": "train"}], "counts": {"pairs_written": 5}}

    def spliced(header: str, given: dict = manifest) -> str:
        return header_text(given, UserEdits(header=header))

    computed = "size_categories:\n- n<1K\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*.parquet\n"
    assert spliced("license: mit") == "license: mit\n" + computed  # added at the end
    # a layout the splice does not foresee (explicit keys) is written anew rather than left broken
    explicit = yaml.safe_load(spliced("? license\n: mit\n? configs\n: old\n"))
    assert explicit == {"license": "mit", **yaml.safe_load(computed)}
    # replaced where they stand, a second `configs` dropped, comments above the next key kept
    assert spliced("configs: x\n# mine\nlicense: mit  # ok\nsize_categories: [a]\nconfigs: y\n") == (
        computed[computed.index("configs"):] + "# mine\nlicense: mit  # ok\nsize_categories:\n- n<1K\n")
    # an indented mapping keeps its indentation
    assert spliced("  license: mit\n  configs: []\n") == "  license: mit\n" + "".join(
        "  " + line + "\n" for line in computed[computed.index("configs"):].splitlines())[:-1] + "\n  size_categories:\n  - n<1K\n"
    # nothing computed (no manifest counts nor outputs): the card's keys dropped, nothing added
    assert spliced("license: mit\nconfigs: [x]\nsize_categories: [y]\n", {}) == "license: mit\n"
    # a flow mapping cannot take a block entry: read and written again
    assert spliced("{license: mit, configs: []}") == "license: mit\n" + computed


def test_load_dataset_after_a_rebuild_reads_the_new_pairs(tmp_path):
    """``datasets`` caches a local folder whose card maps its files by the folder's name and the card's
    header, not by the files: after ``build`` wrote other pairs to the same OUT, ``load_dataset(OUT)``
    handed out the first build's rows from its cache. Each config's description carries a digest of its
    shards, so the header, and the cache key, change with them (and only with them)."""
    import json

    import pytest

    datasets = pytest.importorskip("datasets")
    import prefdata

    rows = [{"prompt": f"q{i}", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(5)]
    out = tmp_path / "out"
    loaded, descriptions = [], []
    for n in (3, 5, 3):
        raw = tmp_path / f"raw{n}.jsonl"
        raw.write_text("".join(json.dumps(r) + "\n" for r in rows[:n]))
        prefdata.build(raw, out, test_fraction=0, quiet=True)
        loaded.append(datasets.load_dataset(str(out))["train"].num_rows)
        descriptions.append(header_and_body((out / "README.md").read_text(encoding="utf-8"))[0]["configs"][0]["description"])
    assert loaded == [3, 5, 3]
    assert descriptions[0] == descriptions[2] != descriptions[1]  # the same shards, the same digest


def test_report_digests_the_shards_on_disk_not_the_manifest_s_word_for_them(tmp_path):
    """A shard edited or added by hand, a manifest without sha256s, or one listing a shard twice with a
    null sha256 or a name holding a NUL: the report copied the manifest's sha256s into the digest (so
    ``load_dataset`` kept the rows it had cached), gave no digest at all, or crashed (exit 3)."""
    import json

    import pyarrow.parquet as pq
    import pytest

    datasets = pytest.importorskip("datasets")
    import prefdata

    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"prompt": f"q{i}", "chosen": f"good {i}", "rejected": f"bad {i}"}) + "\n" for i in range(6)))
    out = tmp_path / "out"
    prefdata.build(raw, out, test_fraction=0, quiet=True)
    assert datasets.load_dataset(str(out))["train"].num_rows == 6
    (shard,) = (out / "data").glob("train-*.parquet")
    pq.write_table(pq.read_table(shard).slice(0, 2), shard)  # edited by hand
    report(out)
    assert datasets.load_dataset(str(out))["train"].num_rows == 2

    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["outputs"]:
        entry.pop("sha256", None)
    manifest_path.write_text(json.dumps(manifest))
    report(out)
    description = header_and_body((out / "README.md").read_text(encoding="utf-8"))[0]["configs"][0]["description"]
    assert re.fullmatch(r"prefdata shards [0-9a-f]{16}", description)

    train = next(e for e in manifest["outputs"] if e["path"].startswith("data/train"))
    manifest["outputs"] += [{**train, "sha256": None}, {**train, "path": "data/train-\u0000.parquet"}]
    manifest_path.write_text(json.dumps(manifest))
    report(out)  # no TypeError, no "embedded null byte"

    # a shard added by hand: the card's globs read it, so the digest (and the cache) changes
    pq.write_table(pq.read_table(shard), out / "data" / "train-00001-extra.parquet")
    report(out)
    assert datasets.load_dataset(str(out))["train"].num_rows == 4


def test_the_card_lists_splits_train_validation_test_then_others():
    """The configs' data_files list splits as the Hub orders them, whatever the manifest's outputs' order."""
    outputs = [{"path": f"data/{s}-00000-of-00001.parquet", "split": s, "rows": 2, "sha256": str(i) * 64}
               for i, s in enumerate(["test", "validation", "train", "extra"])]
    head, _ = header_and_body(render_card({"prefdata_version": "0.1.0", "outputs": outputs, "inputs": [],
                                           "counts": {"pairs_written": 8}}))
    assert [d["split"] for d in head["configs"][0]["data_files"]] == ["train", "validation", "test", "extra"]


def test_the_card_lists_rejected_records_by_reason_most_common_first():
    """As report.md does: the reason that cost the most records first, ties by name."""
    card = render_card({"prefdata_version": "0.1.0", "outputs": [], "inputs": [],
                        "counts": {"records_read": 11, "pairs_written": 4, "records_rejected": 7,
                                   "rejected_by_reason": {"c_reason": 1, "tie": 3, "a_reason": 1, "b_reason": 2}}})
    assert [ln for ln in card.splitlines() if ln.startswith("- ") and ": " in ln] == [
        "- tie: 3", "- b\\_reason: 2", "- a\\_reason: 1", "- c\\_reason: 1"]


def test_a_card_header_of_comments_only_gets_prefdata_s_header():
    """An empty or comments-only header is no header of the user's (UserEdits.header is None): the card
    gets prefdata's, with its configs and licence placeholder, and no "not a mapping" warning."""
    manifest = {"prefdata_version": "0.1.0", "inputs": [], "counts": {"pairs_written": 2},
                "outputs": [{"path": "data/train-00000-of-00001.parquet", "split": "train", "rows": 2, "sha256": "a" * 64}]}
    for text in ("---\n# to do: licence\n---\n\n# My title\n", "---\n\n---\n\n# My title\n"):
        edits = UserEdits.parse(text)
        assert edits.warning() is None and edits.header is None, text
        head, _ = header_and_body(render_card(manifest, edits=edits))
        assert head["license"] == "other" and head["configs"][0]["data_files"] == [
            {"split": "train", "path": "data/train-*.parquet"}], text


def test_an_intro_the_user_deleted_stays_deleted():
    """README: the text above the begin mark is the user's, kept at each build and report; an empty one
    too: prefdata's default title and intro do not come back."""
    manifest = {"prefdata_version": "0.1.0", "inputs": [], "outputs": [], "counts": {"pairs_written": 0}}
    first = render_card(manifest)
    assert DEFAULT_INTRO in first
    again = render_card(manifest, edits=UserEdits.parse(first.replace(DEFAULT_INTRO, "")))
    assert "# Preference dataset" not in again and BEGIN_MARK in again and END_MARK in again


def test_the_shard_digest_covers_the_kto_shards(tmp_path):
    """_shards_on_disk: the digest is of the Parquet shards under data/ and kto/ as they are on disk;
    ``datasets`` caches the folder by the card's header, so a KTO shard replaced by hand must change
    the kto config's digest (and only that one)."""
    import json

    import polars as pl

    out = write_dataset(tmp_path / "out", {"train": simple_rows(5)})
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["outputs"].append({"path": "kto/train-00000-of-00001.parquet", "split": "train", "rows": 1})
    (out / "manifest.json").write_text(json.dumps(manifest))
    kto = out / "kto" / "train-00000-of-00001.parquet"
    kto.parent.mkdir()
    descriptions = []
    for label in (True, False):
        pl.DataFrame({"prompt": ["q"], "completion": ["a"], "label": [label]}).write_parquet(kto)
        report(out)
        configs = header_and_body((out / "README.md").read_text(encoding="utf-8"))[0]["configs"]
        assert [c["config_name"] for c in configs] == ["default", "kto"]
        descriptions.append([c["description"] for c in configs])
    assert all(re.fullmatch(r"prefdata shards [0-9a-f]{16}", d) for pair in descriptions for d in pair)
    assert descriptions[0][0] == descriptions[1][0] and descriptions[0][1] != descriptions[1][1]


def test_the_card_counts_the_kto_rows_not_the_kto_shards():
    """README feedback: ``output.kto_export: true`` writes the unpaired records under kto/ and "the card
    counts them": the rows of all kto/ shards (2 + 3), not the number of shard files (2)."""
    outputs = [{"path": "data/train-00000-of-00001.parquet", "split": "train", "rows": 1, "sha256": "a" * 64},
               {"path": "kto/train-00000-of-00002.parquet", "split": "train", "rows": 2, "sha256": "b" * 64},
               {"path": "kto/train-00001-of-00002.parquet", "split": "train", "rows": 3, "sha256": "c" * 64}]
    card = render_card({"prefdata_version": "0.1.0", "outputs": outputs, "inputs": [],
                        "counts": {"records_read": 7, "pairs_written": 1, "records_rejected": 5}})
    [line] = [ln for ln in card.splitlines() if ln.startswith("| unpaired rows for KTO")]
    assert line.endswith("| 5 |")


def test_the_provenance_line_counts_every_raw_file_not_every_source():
    """The card's "Built by prefdata V from N raw file(s)": N is the files read (the manifest's
    ``inputs``), so one source whose path selects two files is two raw files."""
    inputs = [{"path": f"{day}.jsonl", "source": "log", "records": 4} for day in ("day1", "day2")]
    card = render_card({"prefdata_version": "0.1.0", "outputs": [], "inputs": inputs, "counts": {"pairs_written": 8}})
    assert "Built by prefdata 0.1.0 from 2 raw file(s)." in card


def test_the_users_end_mark_above_the_begin_mark_is_not_the_end_of_prefdatas_text():
    """README: the card's text outside the two marks around what prefdata writes is the user's. An end
    line the user pasted into the intro is not the end of prefdata's part: it is written once again, and
    the note after the real end line is kept."""
    manifest = {"prefdata_version": "0.1.0", "inputs": [], "outputs": [],
                "counts": {"records_read": 3, "pairs_written": 2, "records_rejected": 1}}
    card = render_card(manifest)
    edited = card.replace("# Preference dataset", "# My data\n\nDo not edit below\n" + END_MARK + "\n", 1) + "\nMy closing note.\n"
    edits = UserEdits.parse(edited)
    assert edits.after == "My closing note."
    again = render_card(manifest, edits=edits)
    assert again.count(BEGIN_MARK) == 1 and again.count("## Counts") == 1
    assert again.rstrip().endswith("My closing note.")


def test_the_licence_note_appears_only_for_the_placeholder_licence():
    """README: set ``license:`` before publishing: the card's note that ``license: other`` is a
    placeholder is written when the header's licence is ``other``, not for ``license: mit`` nor for a
    user's header with no licence key (the note would name a ``license: other`` that is not there)."""
    manifest = {"prefdata_version": "0.1.0", "inputs": [], "outputs": [], "counts": {"pairs_written": 1}}
    fresh = render_card(manifest)
    assert "**Licence:**" in fresh and "license: other\n" in fresh
    for replacement in ("license: mit\n", "pretty_name: My chats\n"):
        again = render_card(manifest, edits=UserEdits.parse(fresh.replace("license: other\n", replacement, 1)))
        assert "**Licence:**" not in again, replacement
