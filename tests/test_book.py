"""The whole book builds warning-free (``-W``) from papermill-executed chapters."""

from pathlib import Path

import pytest

from dreamrg.bookrun import toc_chapters

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_book_builds_warning_free_at_smoke_profile(smoke_book):
    index = smoke_book
    assert index.is_file()
    html = index.parent
    for chapter in toc_chapters(ROOT):
        assert (html / f"{chapter}.html").is_file(), chapter
    mc_page = (html / "monte_carlo.html").read_text()
    assert "<img" in mc_page and "Traceback" not in mc_page


def test_snapshot_keeps_figures_and_tables(tmp_path):
    """Figures as PNG; a table output with its data (dreamrg.display.TABLE_MIME) as JSON at full precision, read
    back and shown in full; a table shown only as HTML as its text; meta.json lists them in order."""
    import json

    import nbformat

    from dreamrg.bookrun import save_snapshot

    import pandas as pd

    from dreamrg import display
    from dreamrg.display import TABLE_MIME, _bundle, snapshot_tables, table_from_data

    df = pd.DataFrame({"value": [1.234567890123456, float("nan")] + [0.1 * i for i in range(78)],
                       "ours": ["1.2346(12)", "not run"] + ["x"] * 78}, index=pd.Index(range(80), name="line"))
    full = _bundle(df)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
        nbformat.v4.new_output("execute_result", data={"text/html": "<table></table>", "text/plain": "a  b\n1  2"},
                               execution_count=1),
        nbformat.v4.new_output("display_data", data=full),
        # a figure glued for a {glue:figure} directive (myst-nb's glue(..., display=False))
        nbformat.v4.new_output("display_data", data={"application/papermill.record/image/png": "iVBORw0KGgo=",
                                                     "application/papermill.record/text/plain": "<Figure>"}),
    ]
    # the title is not a section; the last heading of a cell counts, and holds until the next one
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\n(lbl)=\n## First part\ntext\n### The sub-part ###")]
    nb.cells.append(cell)
    later = nbformat.v4.new_code_cell("y")
    later.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    nb.cells += [nbformat.v4.new_markdown_cell("no heading here"), later]
    path = tmp_path / "ch.ipynb"
    nbformat.write(nb, path)
    (tmp_path / "book").mkdir()
    out = save_snapshot(tmp_path, "ch", "paper", path, 12.0)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["figures"] == 3 and meta["tables"] == 2 and meta["profile"] == "paper"
    assert meta["outputs"] == ["figure-1.png", "tables.md:1", "table-1.json", "figure-2.png", "figure-3.png"]
    assert set(meta["sections"].values()) == {"The sub-part"} and list(meta["sections"]) == meta["outputs"]
    back = snapshot_tables("ch", "paper", root=tmp_path)[0]
    assert len(back) == 80 and back.index.name == "line"               # every row, never truncated
    assert back["value"][0] == 1.234567890123456 and pd.isna(back["value"][1]) and back["ours"][1] == "not run"
    assert table_from_data(json.loads((out / "table-1.json").read_text())).equals(back)
    assert "80 rows" not in full["text/plain"] and full["text/html"].count("<tr>") == 81
    assert TABLE_MIME in full
    assert (out / "figure-1.png").read_bytes().startswith(b"\x89PNG")
    assert "a  b" in (out / "tables.md").read_text()
    assert meta["git_commit"] is None                      # tmp_path is not a git checkout
    from dreamrg.profiles import load_profile

    assert meta["profile_key"] == load_profile("paper").key() != load_profile("quick").key()
    from dreamrg.cache import STAGE_VERSIONS

    assert meta["stage_versions"] == STAGE_VERSIONS
    assert (out / "figure-2.png").read_bytes().startswith(b"\x89PNG")
    # a failing rewrite leaves the previous snapshot in place and no temporary directories behind
    (out / "figure-9.png").write_bytes(b"old")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("not a notebook")
    with pytest.raises(Exception):
        save_snapshot(tmp_path, "ch", "paper", broken, 1.0)
    assert (out / "figure-9.png").read_bytes() == b"old"
    assert sorted(p.name for p in out.parent.iterdir()) == ["ch"]
    # a successful rewrite replaces it completely
    save_snapshot(tmp_path, "ch", "paper", path, 3.0)
    assert not (out / "figure-9.png").exists() and json.loads((out / "meta.json").read_text())["seconds"] == 3.0
    # an execution over a full cache keeps the record of the longer one with the same parameters and code ...
    save_snapshot(tmp_path, "ch", "paper", path, 1.0)
    meta = json.loads((out / "meta.json").read_text())
    assert (meta["seconds"], meta["seconds_longest"]) == (1.0, 12.0)     # the first save took 12 s
    assert display.snapshot_runs(tmp_path)["seconds"].tolist() == [12.0]
    assert "the longest execution kept with the same chapter parameters and code took 12 s" in display._meta_line(
        "paper", meta)
    # ... also when only another chapter's parameters changed (the whole profile key) ...
    meta["profile_key"] = "other"
    (out / "meta.json").write_text(json.dumps(meta))
    save_snapshot(tmp_path, "ch", "paper", path, 2.0)
    assert json.loads((out / "meta.json").read_text())["seconds_longest"] == 12.0
    # ... but not across other parameters of the chapter, nor across other code of the cache stages
    for key, other in (("section", {"n_configs": 1}), ("stage_versions", {"mc": -1})):
        meta = json.loads((out / "meta.json").read_text()) | {key: other, "seconds_longest": 12.0}
        (out / "meta.json").write_text(json.dumps(meta))
        save_snapshot(tmp_path, "ch", "paper", path, 2.0)
        meta = json.loads((out / "meta.json").read_text())
        assert (meta["seconds"], meta["seconds_longest"]) == (2.0, 2.0), key
    assert "longest" not in display._meta_line("paper", meta)
    # a snapshot kept before the chapter's section was recorded is compared by its whole profile key
    from dreamrg.bookrun import longest_seconds

    older = tmp_path / "older.json"
    for old_key, expected in ((meta["profile_key"], 9.0), ("other", 1.0)):
        older.write_text(json.dumps({"profile_key": old_key, "stage_versions": meta["stage_versions"], "seconds": 9.0}))
        assert longest_seconds(older, meta | {"seconds": 1.0}) == expected
    assert longest_seconds(tmp_path / "missing.json", meta | {"seconds": 1.0}) == 1.0
    # ... or, since other chapters' parameters change that key, by what it kept: the same tables and figures
    older.write_text(json.dumps({"profile_key": "other", "stage_versions": meta["stage_versions"], "seconds": 9.0}))
    assert longest_seconds(older, meta | {"seconds": 1.0}, same_outputs=True) == 9.0
    older.write_text(json.dumps({"profile_key": "other", "stage_versions": {"mc": -1}, "seconds": 9.0}))
    assert longest_seconds(older, meta | {"seconds": 1.0}, same_outputs=True) == 1.0  # not across other code
    legacy = json.loads((out / "meta.json").read_text())
    legacy = {k: v for k, v in legacy.items() if k not in ("section", "seconds_longest")} | {
        "profile_key": "other", "seconds": 50.0}
    (out / "meta.json").write_text(json.dumps(legacy))
    save_snapshot(tmp_path, "ch", "paper", path, 2.0)  # the same notebook: the same outputs
    assert json.loads((out / "meta.json").read_text())["seconds_longest"] == 50.0
    (out / "meta.json").write_text(json.dumps(legacy))
    (out / "table-1.json").write_text("{}")                # the kept table differed: a different run
    save_snapshot(tmp_path, "ch", "paper", path, 2.0)
    assert json.loads((out / "meta.json").read_text())["seconds_longest"] == 2.0
    fss = save_snapshot(tmp_path, "fss", "paper", path, 1.0)
    assert json.loads((fss / "meta.json").read_text())["section"] == load_profile("paper").fss.to_dict()


def test_git_commit_is_dirty_for_code_changes_not_for_carried_data_or_snapshots(tmp_path):
    import subprocess

    from dreamrg.bookrun import DATA_PATHS, _git_commit

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    files = [tmp_path / "src.py"] + [tmp_path / d / "x.json" for d in DATA_PATHS]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("1")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "c")
    head = _git_commit(tmp_path)
    assert head and not head.endswith("-dirty")
    for f in files[1:]:
        f.write_text("2")
    assert _git_commit(tmp_path) == head
    files[0].write_text("2")
    assert _git_commit(tmp_path) == head + "-dirty"


def test_parse_overrides_reads_json_values_and_checks_every_key():
    from dreamrg.bookrun import parse_overrides

    got = parse_overrides(["fss.n_configs=1000", "mcrg.mc_sizes=[16, 32]", "fss.seed=3"], "quick", ["fss", "mcrg"])
    assert got == {"fss": {"n_configs": 1000, "seed": 3}, "mcrg": {"mc_sizes": [16, 32]}}
    assert parse_overrides([], "quick", ["fss"]) == {}
    bad = [
        (["fss.n_configs"], "CHAPTER.KEY=VALUE"),
        (["n_configs=5"], "CHAPTER.KEY=VALUE"),
        (["fss.=5"], "CHAPTER.KEY=VALUE"),
        (["fss.bogus=5"], "unknown parameter 'bogus' for chapter 'fss'; allowed: batch_size, n_configs, n_up, seed"),
        (["status.x=1"], "allowed: none"),
        (["mcrg.n_up=3"], "chapter 'mcrg' is not executed"),
    ]
    for items, fragment in bad:
        with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            parse_overrides(items, "quick", ["fss", "status"])


def test_overridden_chapter_gets_its_overrides_and_no_paper_snapshot(tmp_path, fake_chapters):
    from dreamrg import bookrun

    bookrun.build_book("paper", chapters=["fss", "mcrg"], build=False, root=ROOT, base=tmp_path,
                       overrides={"fss": {"n_configs": 10}})
    assert fake_chapters.calls == [("fss", "paper", {"n_configs": 10}), ("mcrg", "paper", None)]
    assert fake_chapters.snapshots == ["mcrg"]
    with pytest.raises(ValueError, match="not executed in this run"):
        bookrun.build_book("paper", chapters=["mcrg"], build=False, root=ROOT, base=tmp_path,
                           overrides={"fss": {"n_configs": 10}})


def test_chapter_without_parameters_refuses_overrides(tmp_path):
    from dreamrg.bookrun import execute_chapter

    with pytest.raises(ValueError, match="'intro' has no parameters"):
        execute_chapter(ROOT, "intro", "smoke", tmp_path, {"x": 1})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_experiments_apply_the_chapter_overrides():
    from dreamrg.experiments import mcrg_mc
    from dreamrg.profiles import load_profile

    default = mcrg_mc("smoke")
    custom = mcrg_mc(load_profile("smoke", {"mcrg": {"mc_configs": 200}}))
    assert list(custom) == list(default) == [16]
    assert default[16][0].n_configs == 1000 and custom[16][0].n_configs == 200


@pytest.mark.slow
def test_status_lists_every_number_of_tables_iii_and_iv():
    """The paper's Table III sizes that a profile does not simulate appear as "not run" with the reason;
    every computed number carries its error, the paper's value as printed and (ours − paper)/σ."""
    import math

    from dreamrg.paper_values import PRINTED_IV, TABLE_III, TABLE_IV
    from dreamrg.verdicts import shown_z, z_score
    from dreamrg.profiles import load_profile
    from dreamrg.tables import table_iii_long, table_iv_long

    trained = load_profile("smoke").trained_ks

    t3 = table_iii_long("smoke")
    assert sorted({int(r[2:]) for r in t3["row"]}) == sorted(set(TABLE_III) | {16})
    assert len(t3) == 3 * (len(TABLE_III) + 1)                                # smoke: one blocking step
    not_run = t3[t3["ours"] == "not run"]
    assert set(not_run["row"]) == {f"L={L}" for L in TABLE_III}              # smoke simulates only L = 16
    assert all("not among this profile's MC sizes [16]" in s for s in not_run["statistics"])
    assert set(not_run["table"]) == {"III"}
    ran = t3[t3["row"] == "L=16"]
    assert ran["paper"].isna().all() and (ran["error"] > 0).all() and ran["statistics"].str.contains("1000 MC").all()
    assert set(ran["table"]) == {"III, step 1"}
    # two blocking steps: every computed size has one line per step and quantity, compared with the paper
    two = table_iii_long(load_profile("smoke", {"mcrg": {"mc_sizes": [32], "levels": 2}}))
    at32 = two[two["row"] == "L=32"]
    assert len(at32) == 6 and set(at32["table"]) == {"III, step 1", "III, step 2"}
    assert at32["statistics"].str.contains("step 32→16").sum() == 3 and at32["statistics"].str.contains("step 16→8").sum() == 3
    assert at32["(ours − paper)/σ"].notna().all()

    t4 = table_iv_long("smoke")
    paper_numbers = {(row, q) for row, d in TABLE_IV.items() for q in d}
    assert len(paper_numbers) == 4 * len(TABLE_IV)
    have = t4.dropna(subset=["paper"])
    keys = {"eta_fss": "η-FSS", "eta_rsrg": "η-RSRG", "inv_nu_fss": "1/ν-FSS", "inv_nu_rsrg": "1/ν-RSRG"}
    for row, d in TABLE_IV.items():
        for key, paper in d.items():
            line = have[(have["row"] == row) & (have["quantity"] == keys[key])]
            if row != "MC" and int(row[2]) not in trained:
                assert len(line) == 0
                continue
            assert len(line) == 1 and line["paper"].item() == PRINTED_IV[row][key], (row, key)
            if line["ours"].item() == "not available":
                # smoke blocks once: the paper's MC RSRG (second step) is not run there
                assert line["statistics"].item().startswith("not run" if row == "MC" else "ill-conditioned")
            else:
                v, e, d_ = line["value"].item(), line["error"].item(), line["(ours − paper)/σ"].item()
                assert e > 0 and math.isclose(d_, shown_z(z_score(v, e, PRINTED_IV[row][key])))


@pytest.mark.slow
def test_table_iv_compares_rsrg_at_the_dreamed_size():
    """The paper's Table IV takes RSRG from configurations of size 128, for MC as for the dreamed ones."""
    from dreamrg.experiments import mcrg_reference_size
    from dreamrg.profiles import load_profile
    from dreamrg.tables import table_iv

    assert mcrg_reference_size("paper") == mcrg_reference_size("quick") == 128
    assert mcrg_reference_size("smoke") == 16
    assert mcrg_reference_size(load_profile("smoke", {"mcrg": {"mc_sizes": [16, 32]}})) == 16
    assert mcrg_reference_size(load_profile("smoke", {"mcrg": {"mc_sizes": [32]}})) == 32  # not simulated: the largest
    t4 = table_iv(load_profile("smoke", {"mcrg": {"mc_sizes": [16, 32]}}), paper=False)
    assert t4.loc["MC", "RSRG step"] == "16→8 (symmetrised)"
    assert t4.loc["authors k=3", "RSRG step"] == "16→8 (symmetrised)"
    # the paper's conventions: MC at the second step, the dreamed configurations in the authors' basis
    two = load_profile("smoke", {"mcrg": {"mc_sizes": [16, 32], "levels": 2}})
    t4 = table_iv(two)
    assert t4.loc["MC", "RSRG step"] == "8→4 (symmetrised)"
    assert t4.loc["authors k=3", "RSRG step"] == "16→8 (authors)"
    # the columns keep their order when the first row (Monte Carlo) lacks a quantity (its step is not run)
    one = table_iv(load_profile("smoke"))
    assert one.loc["MC", "RSRG step"].startswith("not run") and one.loc["authors k=3", "η-RSRG"]
    assert list(one.columns[:4]) == ["η-FSS", "η-FSS paper", "η-RSRG", "η-RSRG paper"]
    assert list(one.columns) == list(t4.columns)


@pytest.mark.slow
def test_failing_chapter_is_one_clear_error_and_keeps_the_last_good_run(tmp_path):
    from dreamrg.bookrun import ChapterFailed, execute_chapter

    header = (ROOT / "book" / "dreaming.md").read_text().split("---")[1]
    (tmp_path / "book").mkdir()
    cells = ["```{code-cell} ipython3\n:tags: [parameters]\n\nprofile = 'quick'\noverrides = {}\n```",
             "```{code-cell} ipython3\nif overrides.get('boom'):\n    raise RuntimeError('kaboom')\n```"]
    (tmp_path / "book" / "tiny.md").write_text("---" + header + "---\n\n# Tiny\n\n" + "\n\n".join(cells) + "\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    good = execute_chapter(tmp_path, "tiny", "smoke", out_dir)
    before = good.read_bytes()
    with pytest.raises(ChapterFailed, match=r"chapter 'tiny' \(profile smoke\) failed in cell \[\d+\]: "
                                            r"RuntimeError: kaboom — traceback in .*out-failed/tiny.ipynb"):
        execute_chapter(tmp_path, "tiny", "smoke", out_dir, {"boom": True})
    assert good.read_bytes() == before
    failed = tmp_path / "out-failed" / "tiny.ipynb"
    assert "kaboom" in failed.read_text()
    assert sorted(p.name for p in out_dir.iterdir()) == ["tiny.ipynb"]     # nothing stray in the book's sources
    execute_chapter(tmp_path, "tiny", "smoke", out_dir)                     # a later success clears the failure
    assert not failed.exists()


@pytest.mark.slow
def test_mcrg_irrep_reports_at_smoke():
    """The lattice-anisotropy tables: every sector and irrep per MC step; the third exponent per step and
    per dreamed model, with its error and the irrep it lies in."""
    from dreamrg.profiles import load_profile
    from dreamrg.tables import mcrg_irreps_dreamed, mcrg_irreps_mc, mcrg_third_mc

    P = load_profile("smoke").mcrg
    irr = mcrg_irreps_mc(load_profile("smoke", {"mcrg": {"irrep_configs": 2000}}))
    assert "note" not in irr
    assert len(irr) == 10 * P.levels * len(P.irrep_sizes)   # 2 sectors x 5 irreps per step
    assert set(irr["irrep"]) == {"A1", "A2", "B1", "B2", "E"} and (irr["configs"] == 2000).all()
    assert irr.groupby("step")["dim"].sum().eq(158).all()
    third = mcrg_third_mc(load_profile("smoke", {"mcrg": {"irrep_configs": 2000}}))
    assert len(third) == P.levels * len(P.irrep_sizes) and (third["third_err"] > 0).all()
    dr = mcrg_irreps_dreamed(load_profile("smoke", {"mcrg": {"irrep_configs": 2000}}))
    assert (dr["L"] == 2 ** P.n_up).all() and (dr["configs"] == 2000).all()
    done = dr[dr["third_value"].notna()]
    assert len(done) >= 6 and (done["third_err"] > 0).all()
    assert done["third in"].str.match(r"^(odd|even) (A1|A2|B1|B2|E)$").all()
    # the barely trained smoke models whose configurations are too frozen say so instead of a number
    assert dr.loc[dr["third_value"].isna(), "note"].str.contains("ill-conditioned").all()



@pytest.mark.slow
def test_chapter_execution_logs_no_kernel_warning(tmp_path, capfd):
    """ipykernel >= 7.3 warns about unencrypted kernel sockets on every start; the book's kernels are encrypted."""
    import zmq

    from dreamrg.bookrun import _kernel_manager_class, execute_chapter

    if not zmq.has("curve"):
        pytest.skip("pyzmq without CurveZMQ: kernel sockets cannot be encrypted here")
    assert _kernel_manager_class()().transport_encryption == "auto"
    out = execute_chapter(ROOT, "intro", "smoke", tmp_path)
    assert out.exists()
    captured = capfd.readouterr()
    assert "WARNING" not in captured.err and "without encryption" not in captured.err, captured.err[-500:]


@pytest.mark.slow
def test_paper_numbers_section_at_smoke():
    """The conventions table: MC per step and per basis/boundary, the authors' six models in both bases; the
    parent-lattice table; the quoted numbers."""
    from dreamrg.profiles import load_profile
    from dreamrg.tables import mcrg_conventions, mcrg_paper_quotes, mcrg_parent

    prof = load_profile("smoke", {"mcrg": {"mc_sizes": [32], "levels": 2}})
    conv = mcrg_conventions(prof)
    mc = conv[conv["data"] == "MC"]
    assert list(mc["convention"]) == ["symmetrised (ours)", "symmetrised (Table III)",
                                      "authors' basis", "open boundary"]
    assert list(mc["step"]) == ["32→16", "16→8", "16→8", "16→8"] and (mc["y_h paper"] == "1.87537(5)").all()
    dreamed = conv[conv["data"] != "MC"]
    assert len(dreamed) == 12 and dreamed["data"].str.startswith("authors").all()
    assert dreamed.groupby("data")["convention"].apply(list).map(len).eq(2).all()
    k3 = dreamed[dreamed["data"] == "authors k=3"].set_index("convention")
    assert set(k3["y_h paper"]) == {"1.85900(25)"} and set(k3["y_t paper"]) == {"1.111"}
    assert (conv["third_err"] > 0).all() and conv["third in"].str.match(r"^(odd|even) \d+$").all()
    parent = mcrg_parent(prof)
    assert len(parent) == 6 and parent["step"].str.endswith("(parent)").all() and (parent["η_err"] > 0).all()
    q = mcrg_paper_quotes(conv, parent)
    assert q["pn_models"] == 6 and q["pn_Lmin"] == q["pn_Lmax"] == 32 and q["pn_paper_yh_Lmax"] == "1.87537(5)"
    assert all(isinstance(v, (int, float, str)) for v in q.values())
    assert q["pn_parent_deta_max"] == pytest.approx((parent["η_value"] - parent["η_fss_value"]).abs().max())
    assert q["pn_parent_rsrg_min"] == pytest.approx(
        (parent["η-RSRG paper"].astype(float) - parent["η_value"]).abs().min())


def test_book_carry_exports_while_the_chapters_run_and_when_they_end(tmp_path, monkeypatch):
    """``--carry``: finished results reach book/data/carried while a chapter still runs (every CARRY_EVERY seconds)
    and when the chapters end, also when one fails; without it nothing is written there."""
    import shutil
    import time

    from dreamrg import bookrun, cache, paths

    carried = tmp_path / "carried"
    monkeypatch.setattr(paths, "carried_dir", lambda root=None: carried)
    monkeypatch.setattr(bookrun, "CARRY_EVERY", 0.05)
    monkeypatch.setenv("DREAMRG_DATA", str(tmp_path / "data"))
    seen = {}

    def chapter(root, name, profile, out_dir, overrides=None):
        cache.cached_json("observables", f"test-{name}", {"chapter": name}, lambda: {"x": 1})
        if name == "fss":  # still running: the periodic export takes its result
            deadline = time.monotonic() + 10
            while not list(carried.glob("observables/test-fss-*/result.json")) and time.monotonic() < deadline:
                time.sleep(0.01)
            seen["during"] = bool(list(carried.glob("observables/test-fss-*/result.json")))
        if name == "mcrg":
            raise RuntimeError("the chapter failed")
        out = out_dir / f"{name}.ipynb"
        out.write_text("{}")
        return out

    monkeypatch.setattr(bookrun, "execute_chapter", chapter)
    with pytest.raises(RuntimeError, match="the chapter failed"):
        bookrun.build_book("quick", chapters=["fss", "mcrg"], build=False, root=ROOT, base=tmp_path, carry=True)
    assert seen["during"]
    assert list(carried.glob("observables/test-mcrg-*/result.json"))  # exported at the end, though mcrg failed
    shutil.rmtree(carried)
    bookrun.build_book("quick", chapters=["fss"], build=False, root=ROOT, base=tmp_path)
    assert not carried.exists()
