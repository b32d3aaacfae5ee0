"""Execute the book's chapters with papermill and build the HTML with Jupyter Book 1.

``dreamrg book --profile P`` does, for every chapter of ``book/_toc.yml``:

1. read the jupytext (MyST markdown) source, execute it with papermill with
   ``profile = P`` injected after its ``parameters`` cell, and save the executed
   notebook as ``_build/notebooks/<profile>/<chapter>.ipynb``; at the paper profile
   its figures and tables are also kept in ``book/snapshots/paper/<chapter>/``;
2. build ``_build/html`` from those executed notebooks with execution switched
   off, using the repository's ``_config.yml`` (bibliography path made absolute).

The ``parameters`` cell and papermill's injected ``# Parameters`` cell are tagged
``remove-cell`` in the executed notebooks (:func:`hide_parameter_cells`): a chapter
shows what its build used once, as a table (:func:`dreamrg.chapter_parameters.parameters_table`).
Pages of the table of contents that are plain MyST (no jupytext header, e.g. the API
reference and the bibliography) are not executed; they are copied beside the notebooks.

Chapters not selected with ``chapters=`` keep their last executed notebook (or
are executed if none exists). A user profile file (``profile_file=``, TOML, see
:func:`dreamrg.profiles.load_profile`) is validated as a whole and its table for a
chapter is passed to that chapter as its ``overrides``, like ``--set``. A plain ``jupyter-book build book`` instead
executes the chapters itself with their default (quick) parameters; both
routes reuse the result cache in ``data/``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from dreamrg import cache
from dreamrg.paths import repo_root
from dreamrg.profiles import PROFILES, SECTIONS, load_profile


class ChapterFailed(RuntimeError):
    """A chapter raised while papermill executed it."""


def toc_chapters(root: Path) -> list[str]:
    """Chapter stems in table-of-contents order."""
    toc = yaml.safe_load((root / "book" / "_toc.yml").read_text())
    names = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        names += [c["file"] for c in part["chapters"]]
    return names


def toc_notebooks(root: Path) -> list[str]:
    """The executed chapters (jupytext notebooks) of the table of contents, in order; plain pages left out."""
    return [name for name in toc_chapters(root) if is_notebook_source(root / "book" / f"{name}.md")]


#: Tags of the cells that only set parameters (removed from the rendered page).
PARAMETER_TAGS: tuple[str, ...] = ("parameters", "injected-parameters")


def is_notebook_source(path: Path) -> bool:
    """True for a jupytext chapter (a header declaring jupytext and a kernelspec); False for a plain MyST page."""
    head = path.read_text(encoding="utf-8")[:600]
    return "jupytext:" in head and "kernelspec:" in head


def hide_parameter_cells(notebook: Path) -> bool:
    """Tag the ``parameters`` and papermill's ``injected-parameters`` cells of ``notebook`` ``remove-cell``.

    Jupyter Book then leaves them out of the page (the downloaded ``.ipynb`` keeps
    them). Rewrites the file (atomically) only when a tag was missing; returns
    whether it did.
    """
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    changed = False
    for cell in nb.get("cells", []):
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if any(t in tags for t in PARAMETER_TAGS) and "remove-cell" not in tags:
            tags.append("remove-cell")
            changed = True
    if changed:
        tmp = notebook.with_name(f".{notebook.name}.tagging")
        tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(notebook)
    return changed


def parse_overrides(items: list[str], profile: str, chapters: list[str]) -> dict[str, dict[str, Any]]:
    """Turn ``["fss.n_configs=1000", ...]`` into ``{"fss": {"n_configs": 1000}}``, checked.

    ``VALUE`` is read as JSON (``1000``, ``[32, 128]``, ``true``, ``"x"``) and kept as
    a string if it is not JSON. Every override must name one of ``chapters`` and one
    of that chapter's parameters at ``profile``; otherwise ``ValueError`` says what is
    allowed, before anything runs.
    """
    from dreamrg.profiles import load_profile

    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, eq, text = item.partition("=")
        chapter, dot, key = name.partition(".")
        if not (eq and dot and chapter and key):
            raise ValueError(f"--set expects CHAPTER.KEY=VALUE (e.g. fss.n_configs=1000), got {item!r}")
        if chapter not in chapters:
            raise ValueError(f"--set {item!r}: chapter {chapter!r} is not executed in this run; "
                             f"executed: {', '.join(chapters)}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out.setdefault(chapter, {})[key] = value
    for chapter, values in out.items():
        load_profile(profile, {chapter: values})  # checked as the chapter will load them; unknown keys name the allowed
    return out


def profile_file_overrides(file: str | Path, profile: str | None = None) -> tuple[str, dict[str, dict[str, Any]]]:
    """The base profile of a TOML profile file and its values as per-chapter overrides.

    The file is validated as a whole profile (:func:`dreamrg.profiles.load_profile`:
    unknown chapters or keys, wrong types, kernel sizes that are not trained, an
    unreadable file: one ``ValueError``). Returns ``(base, {chapter: {key: value}})``
    with the keys the file sets, their values in the form ``Section.to_dict()`` gives
    (lists, dicts keyed by int k). ``base`` is ``profile`` if given (the file's
    ``base`` must then agree), else the file's ``base``, else ``"quick"``.
    """
    from dreamrg.profiles import load_profile, read_profile_file

    data = read_profile_file(file)
    loaded = load_profile(profile, file=file)
    base = profile or data.get("base") or "quick"
    out = {}
    for chapter, table in data.items():
        if chapter in ("base", "name") or not table:
            continue
        values = loaded.section(chapter).to_dict()
        out[chapter] = {key: values[key] for key in table}
    return base, out


def _cross_chapter_changes(base: str, file: str | Path) -> list[str]:
    """Named cross-chapter members (e.g. ``data_seed``) whose value the file changes."""
    from dreamrg.profiles import CROSS_CHAPTER_MEMBERS, load_profile

    old, new = load_profile(base), load_profile(base, file=file)
    return [m for m in CROSS_CHAPTER_MEMBERS if getattr(old, m) != getattr(new, m)]


def _kernel_manager_class() -> type:
    """Kernel manager for papermill: Curve-encrypted kernel sockets when pyzmq supports them.

    ipykernel ≥ 7.3 warns on every start of a kernel whose TCP sockets are not
    encrypted; with ``transport_encryption = "auto"`` jupyter_client provisions
    the keys for kernels that declare Curve support, so chapter execution logs
    no warning. Without Curve in pyzmq (or an older jupyter_client) the plain
    manager is used.
    """
    import zmq
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    if not zmq.has("curve") or "transport_encryption" not in AsyncKernelManager.class_trait_names():
        return AsyncKernelManager

    class EncryptedKernelManager(AsyncKernelManager):
        @default("transport_encryption")
        def _encrypt_when_possible(self) -> str:
            return "auto"

    return EncryptedKernelManager


def execute_chapter(root: Path, chapter: str, profile: str, out_dir: Path,
                    overrides: dict[str, Any] | None = None) -> Path:
    """Execute one chapter with papermill; returns the executed notebook path (written atomically).

    ``overrides`` is passed as the chapter's ``overrides`` parameter (a chapter
    without a ``parameters`` cell accepts none).
    """
    import jupytext
    import papermill

    src = root / "book" / f"{chapter}.md"
    nb = jupytext.read(src)
    out = out_dir / f"{chapter}.ipynb"
    tmp = out_dir / f".{chapter}.running.ipynb"
    failed = out_dir.parent / f"{out_dir.name}-failed" / f"{chapter}.ipynb"
    has_params = any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells)
    if overrides and not has_params:
        raise ValueError(f"chapter {chapter!r} has no parameters; it takes no overrides")
    parameters = {"profile": profile} | ({"overrides": overrides} if overrides else {})
    try:
        papermill.execute_notebook(
            nb, str(tmp), parameters=parameters if has_params else {},
            cwd=str(root / "book"), kernel_name="python3", progress_bar=False, log_output=False,
            kernel_manager_class=_kernel_manager_class(),
        )
    except papermill.PapermillExecutionError as exc:
        # the last good execution (if any) stays in place; the failed one is kept outside the book's
        # source directory (a stray notebook there would break the warning-free build) for its traceback
        failed.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            tmp.replace(failed)
        raise ChapterFailed(f"chapter {chapter!r} (profile {profile}) failed in cell [{exc.exec_count}]: "
                            f"{exc.ename}: {exc.evalue} — traceback in {failed}") from None
    hide_parameter_cells(tmp)
    tmp.replace(out)
    failed.unlink(missing_ok=True)
    return out


def _import_carried(root: Path) -> None:
    """Take the results earlier sittings carried in ``book/data/carried/`` (:mod:`dreamrg.runs.carry`) into the cache.

    A paper-profile run outlasts a sitting, and the next may be on a machine without the
    last one's data; ``dreamrg cache --export book/data/carried`` keeps what it finished.
    """
    from dreamrg.paths import carried_dir
    from dreamrg.runs.carry import import_results

    folder = carried_dir(root)
    if folder.is_dir():
        print(f"[dreamrg book] carried results in {folder}: {import_results(folder).summary()}", flush=True)


def _export_carried(root: Path) -> None:
    """Copy what the cache has finished into ``book/data/carried/`` (:func:`dreamrg.runs.carry.export_results`).

    A failure (a damaged result, a full disk) is reported in one line and the run goes on: the
    carry is a copy, and the next export tries again.
    """
    from dreamrg.paths import carried_dir
    from dreamrg.runs.carry import export_results

    try:
        report = export_results(carried_dir(root))
    except (ValueError, OSError) as exc:
        print(f"[dreamrg book] carry: export failed ({exc}); the run goes on", flush=True)
        return
    if report.copied or report.partial:
        print(f"[dreamrg book] carried to {carried_dir(root)}: {report.summary()}", flush=True)


@contextmanager
def _carrying(root: Path, every: float):
    """Export the finished results to ``book/data/carried/`` every ``every`` seconds while the block runs, and once
    at its end, however it ends: a sitting cut off mid-chapter has carried what finished up to the last export."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            _export_carried(root)

    thread = threading.Thread(target=loop, name="dreamrg-carry", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        _export_carried(root)


#: seconds between two exports of ``dreamrg book --carry``
CARRY_EVERY = 600.0


def build_book(profile: str | None = None, chapters: list[str] | None = None, build: bool = True,
               root: Path | None = None, base: Path | None = None,
               overrides: dict[str, dict[str, Any]] | None = None,
               profile_file: str | Path | None = None, scheduler: str | None = None,
               carry: bool = False) -> Path:
    """Execute chapters at ``profile`` and build the HTML.

    Parameters
    ----------
    profile : {"smoke", "quick", "paper"}, optional
        Default: the profile file's ``base``, else ``"quick"``.
    chapters : list of str, optional
        Chapters to (re-)execute; others reuse their last executed notebook.
    build : bool
        Build the HTML after executing.
    root : Path, optional
        Repository root (default: found from the package or the working directory).
    base : Path, optional
        Where ``_build/`` goes (default: ``root``).
    overrides : dict, optional
        Per-chapter parameter overrides, ``{"fss": {"n_configs": 1000}}`` (see
        :func:`parse_overrides`). A chapter run with overrides is not the profile's
        result, so no paper snapshot is written for it.
    profile_file : path, optional
        A TOML profile file (:func:`dreamrg.profiles.load_profile`). Its table for a
        chapter becomes that chapter's overrides (``overrides`` win over it). As with
        ``--set``, a chapter that reads another chapter's values (e.g. the data seed)
        still reads them at the base profile; such changes are reported. No paper
        snapshot is written in a run with a profile file.
    scheduler : str, optional
        A Dask scheduler (``local:N`` or an address; default ``$DREAMRG_SCHEDULER``,
        else none). With one, the profile's stores, models and ensembles that the
        executed chapters need are first computed on the cluster
        (:func:`dreamrg.prewarm.warm`, at the base profile;
        :data:`dreamrg.prewarm.WARMED_FOR` says what each chapter needs); the chapters
        then run in process against the warm cache. Same results.

    carry : bool
        Also export what the cache has finished to ``book/data/carried/`` while the chapters
        run (every :data:`CARRY_EVERY` seconds, and when they end, however they end), for
        a run that spans sittings on machines that share no storage. Give the run a data
        directory of its own (``DREAMRG_DATA``): everything finished there is carried.

    At the paper profile the results carried in ``book/data/carried/`` by earlier
    sittings (``dreamrg cache --export``; :mod:`dreamrg.runs.carry`) are imported into
    the cache first, so the run goes on where they stopped, on any machine.

    Returns
    -------
    Path
        ``<base>/_build/html/index.html`` (or the notebook directory if ``build`` is False).
    """
    file_values: dict[str, dict[str, Any]] = {}
    if profile_file is not None:
        profile, file_values = profile_file_overrides(profile_file, profile)
    profile = profile or "quick"
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    root = root or repo_root()
    for name in overrides or {}:
        if chapters is not None and name not in chapters:
            raise ValueError(f"overrides given for chapter {name!r}, which is not executed in this run")
    if profile_file is not None:
        print(f"[dreamrg book] profile file {profile_file} (base profile {profile}) sets "
              f"{', '.join(f'{c}.{k}' for c, t in file_values.items() for k in t) or 'nothing'}", flush=True)
        skipped = [c for c in file_values if chapters is not None and c not in chapters]
        if skipped:
            print(f"[dreamrg book] profile file: {', '.join(skipped)} not executed in this run", flush=True)
        shared = _cross_chapter_changes(profile, profile_file)
        if shared:
            print(f"[dreamrg book] profile file changes {', '.join(shared)}: only the chapter owning each value "
                  f"sees it; chapters reusing it read the {profile} profile's", flush=True)
    if profile == "paper":
        _import_carried(root)
    with _carrying(root, CARRY_EVERY) if carry else contextlib.nullcontext():
        out_dir = _execute_chapters(root, base or root, profile, chapters, build, overrides, file_values, scheduler,
                                    profile_file)
    if not build:
        return out_dir
    return _render(root, base or root, out_dir)


def _execute_chapters(root: Path, base: Path, profile: str, chapters, build: bool, overrides, file_values,
                      scheduler, profile_file) -> Path:
    """The execution half of :func:`build_book`: the cluster warm-up, then each chapter to execute."""
    _warm_on_cluster(scheduler, profile, bool(overrides) or profile_file is not None, chapters)
    out_dir = base / "_build" / "notebooks" / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    names = toc_chapters(root)
    pages = [n for n in names if not is_notebook_source(root / "book" / f"{n}.md")]
    for name in pages:  # plain MyST pages: rendered as they are, never executed
        (out_dir / f"{name}.ipynb").unlink(missing_ok=True)
        shutil.copy(root / "book" / f"{name}.md", out_dir / f"{name}.md")
    for name in names:
        if name in pages:
            continue
        target = out_dir / f"{name}.ipynb"
        if chapters is None or name in chapters or (build and not target.exists()):
            t0 = time.perf_counter()
            commit = _git_commit(root)  # the code that ran, not what is checked out when it finishes
            custom = (file_values.get(name, {}) | (overrides or {}).get(name, {})) or None
            extra = f" with overrides {custom}" if custom else ""
            print(f"[dreamrg book] executing {name} (profile {profile}){extra} ...", flush=True)
            nb_path = execute_chapter(root, name, profile, out_dir, custom)
            seconds = time.perf_counter() - t0
            print(f"[dreamrg book] {name}: {seconds:.1f} s", flush=True)
            if profile == "paper" and profile_file is not None:
                print(f"[dreamrg book] {name}: run with a profile file, paper snapshot left unchanged", flush=True)
            elif profile == "paper" and custom:
                print(f"[dreamrg book] {name}: overridden parameters, paper snapshot left unchanged", flush=True)
            elif profile == "paper":
                save_snapshot(root, name, profile, nb_path, seconds, commit=commit)
    return out_dir


def _render(root: Path, base: Path, out_dir: Path) -> Path:
    """The rendering half of :func:`build_book`: the executed notebooks of ``out_dir`` into ``<base>/_build/html``."""
    names = toc_chapters(root)
    pages = [n for n in names if not is_notebook_source(root / "book" / f"{n}.md")]
    for name in names:  # notebooks executed before the parameter cells were tagged
        if name not in pages:
            hide_parameter_cells(out_dir / f"{name}.ipynb")
    shutil.copy(root / "book" / "_toc.yml", out_dir / "_toc.yml")
    for extra in (root / "book").iterdir():  # images and other static files used by the chapters
        if extra.suffix in {".png", ".svg", ".json", ".css"}:
            shutil.copy(extra, out_dir / extra.name)
    config = yaml.safe_load((root / "_config.yml").read_text())
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    config["bibtex_bibfiles"] = [str((root / "refs.bib").resolve())]
    (out_dir / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    html = base / "_build" / "html"
    if html.exists():
        shutil.rmtree(html)
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(out_dir), "--path-output", str(base),
           "-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True, cwd=root)
    index = html / "index.html"
    print(f"[dreamrg book] built {index}")
    return index


def _warm_on_cluster(scheduler: str | None, profile: str, custom: bool, chapters: list[str] | None = None) -> None:
    """Warm, on the Dask cluster ``scheduler`` names (nothing in process), what executing ``chapters`` (None: all)
    at ``profile`` needs."""
    from dreamrg import _cluster

    sched = _cluster.resolve(scheduler)
    if not sched.distributed:
        return
    from dreamrg.prewarm import warm

    print(f"[dreamrg book] computing the {profile} profile's stores, models and ensembles on "
          f"{sched.describe()} ...", flush=True)
    if custom:
        print("[dreamrg book] (at the base profile: chapters with overrides compute what differs in process)",
              flush=True)
    with _cluster.connect(sched) as client:
        warm(profile, client, chapters=chapters, log=lambda line: print(line, flush=True))


#: the mimetype under which myst-nb's ``glue(name, fig, display=False)`` keeps a figure in the notebook
GLUED_PNG = "application/papermill.record/image/png"


def save_snapshot(root: Path, chapter: str, profile: str, notebook: Path, seconds: float,
                  commit: str | None = None) -> Path:
    """Keep the figures and tables of an executed chapter in ``book/snapshots/<profile>/<chapter>/``.

    Writes, in the order the chapter produced them, ``figure-<i>.png`` for every PNG
    output and ``table-<i>.json`` for every table output that carries its data
    (:data:`dreamrg.display.TABLE_MIME`, full precision; :func:`dreamrg.display.show_table`
    renders it again); a table shown only as HTML goes, as before, as its text into
    ``tables.md``. ``meta.json`` records the profile, date, dreamrg version, git commit
    of the code that ran (``commit``, default the current checkout), run time (``seconds``,
    and ``seconds_longest``: :func:`longest_seconds`), the list of ``outputs`` and, for each, the
    section heading it appeared under (``sections``, so that a reader knows what a kept table shows). These
    small files are meant to be committed, so that a book rebuilt at the quick profile can
    still show paper-statistics results, labelled with their origin.
    """
    import base64
    import datetime
    import json

    import nbformat

    from dreamrg._version import __version__
    from dreamrg.display import TABLE_MIME

    nb = nbformat.read(notebook, as_version=4)
    final = root / "book" / "snapshots" / profile / chapter
    final.parent.mkdir(parents=True, exist_ok=True)
    # written next to the target and swapped in at the end: an interrupted run leaves the old snapshot intact
    out = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{chapter}."))
    figures, tables, texts, outputs = 0, 0, [], []
    sections: dict[str, str] = {}  # output → the section heading it appeared under (level 2 and below)
    heading = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = _last_heading(cell.source) or heading
        n_before = len(outputs)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            # a figure shown directly, or glued for a {glue:figure} directive (myst-nb stores it under a record key)
            png = data.get("image/png") or data.get(GLUED_PNG)
            if png:
                figures += 1
                outputs.append(f"figure-{figures}.png")
                (out / outputs[-1]).write_bytes(base64.b64decode(png))
            elif TABLE_MIME in data:
                tables += 1
                outputs.append(f"table-{tables}.json")
                table = data[TABLE_MIME]
                table = json.loads(table) if isinstance(table, str) else table
                (out / outputs[-1]).write_text(json.dumps(table, ensure_ascii=False, indent=None) + "\n")
            elif "text/html" in data and "<table" in data["text/html"] and "text/plain" in data:
                texts.append(data["text/plain"])
                outputs.append(f"tables.md:{len(texts)}")
        if heading:
            sections.update({name: heading for name in outputs[n_before:]})
    if texts:
        (out / "tables.md").write_text("\n\n".join(f"```text\n{t}\n```" for t in texts))
    meta = {"chapter": chapter, "profile": profile, "date": datetime.date.today().isoformat(),
            "dreamrg_version": __version__, "git_commit": commit or _git_commit(root), "seconds": round(seconds, 1),
            "figures": figures, "tables": tables + len(texts), "outputs": outputs, "sections": sections,
            # the exact parameter set behind the kept numbers (dreamrg.profiles.Profile.key)
            "profile_key": load_profile(profile).key() if profile in PROFILES else None,
            # the code versions of the cache stages (dreamrg.cache.changes_since tells a reader what changed since)
            "stage_versions": dict(cache.STAGE_VERSIONS)}
    # the chapter's own parameters, as they were (None for a chapter without a profile section)
    meta["section"] = (load_profile(profile).section(chapter).to_dict()
                       if profile in PROFILES and chapter in SECTIONS else None)
    meta["seconds_longest"] = longest_seconds(final / "meta.json", meta, same_outputs=_same_outputs(final, out))
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    old = final.with_name(f".{chapter}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    out.rename(final)
    if old.exists():
        shutil.rmtree(old)
    return final


def _last_heading(markdown: str) -> str | None:
    """The text of the last section heading (``##`` or deeper; the chapter title is not a section) of a Markdown
    cell, without its hashes, or None."""
    found = [m.group(1).strip() for m in re.finditer(r"^#{2,6}\s+(.+?)\s*#*\s*$", markdown, flags=re.M)]
    return found[-1] if found else None


def longest_seconds(previous: Path, meta: dict, same_outputs: bool = False) -> float:
    """The longest execution time of a chapter kept with the parameters and cache-stage versions of ``meta``.

    A chapter executed again over a full cache takes seconds and would otherwise replace the record
    of the execution that computed its results. ``previous`` is the ``meta.json`` being replaced:
    its longest time counts when its ``stage_versions`` equal ``meta``'s and so do its chapter
    parameters (``section``, the chapter's own profile section, so that a parameter added to
    another chapter does not reset the record). A snapshot kept before ``section`` was recorded is
    compared by its whole ``profile_key``, or, since another chapter's parameters change that key,
    counts as the same run when this execution kept byte-identical tables and figures
    (``same_outputs``: the same numbers came out). Otherwise, or when it is missing or unreadable,
    only this execution counts.
    """
    import json

    try:
        old = json.loads(previous.read_text())
        params = ("section",) if "section" in old else ("profile_key",)
        same = (all(old.get(k) == meta.get(k) for k in params) or ("section" not in old and same_outputs)) \
            and old.get("stage_versions") == meta.get("stage_versions")
        before = float(old.get("seconds_longest", old["seconds"])) if same else 0.0
    except (OSError, ValueError, KeyError, TypeError):
        before = 0.0
    return max(before, meta["seconds"])


def _same_outputs(kept: Path, new: Path) -> bool:
    """Whether the snapshot being written in ``new`` holds the same tables and figures, byte for byte, as the one
    kept in ``kept`` (``meta.json`` aside)."""
    def files(folder: Path) -> dict[str, bytes]:
        return {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file() and f.name != "meta.json"}

    return kept.is_dir() and files(kept) == files(new)


#: data a run writes into the checkout (carried results, kept snapshots): not code, so not "-dirty"
DATA_PATHS = ("book/data/carried", "book/snapshots")


def _git_commit(root: Path) -> str | None:
    """The checked-out commit (with ``-dirty`` for local changes to anything but :data:`DATA_PATHS`), or None
    outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."]
                               + [f":(exclude){d}" for d in DATA_PATHS], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if dirty else "")
