"""Bad image files never cost a run: every listed image is checked once, at set-up, and unreadable ones are skipped.

The folder DataModules (``image_folder``, ``labelled_folder``, ``paired_folder``,
``unpaired_folder``, the published sets once downloaded), ``zoo.translate`` and
``zoo.evaluate --fake/--real DIR`` list their files, then:

1. :func:`verify_images` decodes each file once (:func:`zoo.images.check_image`:
   ``verify()`` of the header, a real decode, the conversion to RGB) and keeps
   the result, with the image's size, in an on-disk cache keyed by (absolute
   path, size in bytes, ``mtime_ns``): one JSON file per folder under
   ``$ZOO_CACHE_DIR/verified_images/`` (:func:`cache_entry_path`), written
   atomically, so a second set-up of a 60 000-file folder only ``stat``\\ s its
   files.  More than :data:`PARALLEL_FROM` files to decode are spread over a
   thread pool (Pillow releases the GIL while decoding); more than
   :data:`PROGRESS_FROM` show a progress bar (rank 0).
2. :func:`report_bad_files` writes the full list of the unreadable ones
   (:func:`bad_list_path`, next to the cache entries; also ``run_dir/bad_files.txt``
   when a run directory is known) and gives ONE :class:`BadImagesWarning`
   naming the count, the first few files and the list; with ``strict=True`` it
   raises :class:`BadImagesError` instead, before any training step.
3. The DataModule serves every other file; :func:`~datamodules.preprocess.odd_size_messages`
   gives one :class:`ImageSizeWarning` for images smaller than the output and one for
   aspect ratios beyond 4:1, saying what the ``preprocess`` policy does to them.

:class:`VerifiedFiles` is the mixin that gives a DataModule ``strict``,
``run_dir``, ``bad_files`` and ``bad_files_list``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import PIL
from lightning.pytorch.utilities import rank_zero_warn
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from datamodules.preprocess import odd_size_messages
from zoo.images import ImageCheck, check_image
from zoo.paths import cache_dir

CACHE_VERSION = 1
"""Bumped when what :func:`~zoo.images.check_image` accepts changes; older cache entries are ignored."""
PARALLEL_FROM = 256
"""Files to decode from which a thread pool is used (fewer are checked in this thread)."""
PROGRESS_FROM = 1000
"""Files to decode from which a progress bar is shown (on rank 0)."""
NAMED = 5
"""Bad files named in the warning (the full list is in the file it names)."""
NAMED_STRICT = 20
"""Bad files named in the strict error."""
RUN_DIR_LIST = "bad_files.txt"
"""Name of the copy of the list in a run directory."""


class BadImagesWarning(UserWarning):
    """Unreadable image files were skipped (the message names the count, a few files and the full list)."""


class ImageSizeWarning(UserWarning):
    """Images smaller than the output, or more elongated than 4:1, are served through the ``preprocess`` policy."""


class BadImagesError(ValueError):
    """Unreadable image files with ``strict=True`` (or nothing readable left). ``bad`` maps each path to
    its reason; ``list_path`` is the full list on disk (``None`` when it could not be written)."""

    def __init__(self, message: str, bad: Mapping[Path, str], list_path: Path | None) -> None:
        super().__init__(message)
        self.bad, self.list_path = dict(bad), list_path


@dataclass(frozen=True)
class Verification:
    """The result of :func:`verify_images`: ``checks`` maps every file given to its
    :class:`~zoo.images.ImageCheck`; ``decoded`` counts the files decoded this time (not from the cache)."""

    checks: dict[Path, ImageCheck]
    decoded: int

    @property
    def bad(self) -> dict[Path, str]:
        """``{path: reason}`` of the unreadable files, in the order given."""
        return {path: check.error for path, check in self.checks.items() if check.error is not None}

    def size(self, path: Path) -> tuple[int, int]:
        """``(width, height)`` of a readable file."""
        check = self.checks[Path(path)]
        return check.width, check.height


# -- the cache ----------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40] or "root"


def _digest(folder: Path) -> str:
    return hashlib.sha1(str(folder).encode()).hexdigest()[:16]


def cache_folder() -> Path:
    """``$ZOO_CACHE_DIR/verified_images`` (default ``~/.cache/zoo/verified_images``)."""
    return cache_dir("verified_images")


def cache_entry_path(folder: str | Path) -> Path:
    """The cache file of the images directly in ``folder``: ``<cache_folder>/<name>-<sha1 of the absolute path>.json``."""
    folder = Path(os.path.abspath(folder))
    return cache_folder() / f"{_slug(folder.name)}-{_digest(folder)}.json"


def bad_list_path(root: str | Path) -> Path:
    """The full list of the unreadable files under ``root``: ``<cache_folder>/<name>-<sha1>.bad_files.txt``."""
    root = Path(os.path.abspath(root))
    return cache_folder() / f"{_slug(root.name)}-{_digest(root)}.bad_files.txt"


def _read_entries(path: Path) -> dict[str, list]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or data.get("pillow") != PIL.__version__:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


_CACHE_WARNED: set[str] = set()


def _write_entries(folder: Path, entries: dict[str, list]) -> None:
    path = cache_entry_path(folder)
    data = {"version": CACHE_VERSION, "pillow": PIL.__version__, "folder": str(folder), "files": entries}
    try:
        _write_atomically(path, json.dumps(data, separators=(",", ":")))
    except OSError as err:
        if str(path.parent) not in _CACHE_WARNED:  # once per process: the files are re-checked next time
            _CACHE_WARNED.add(str(path.parent))
            rank_zero_warn(f"cannot write the image verification cache in {path.parent} ({err}); "
                           "images will be decoded again at the next set-up (set ZOO_CACHE_DIR to a writable folder)")


# -- verification ---------------------------------------------------------------------------


def _store_checks(folder: str, known: dict[str, list], checked: dict[str, list]) -> None:
    """Write ``folder``'s cache entry: ``known`` updated with ``checked`` (file name -> ``[size, mtime_ns,
    width, height, error]`` of every file listed there), less the files deleted since."""
    known.update(checked)
    for name in [n for n in known if n not in checked and not os.path.isfile(os.path.join(folder, n))]:
        del known[name]
    _write_entries(Path(folder), known)


def default_workers() -> int:
    """Threads of the pool: the CPUs this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def verify_images(files: Iterable[str | Path], *, progress: bool | None = None, workers: int | None = None,
                  use_cache: bool = True) -> Verification:
    """Check every file once (:func:`zoo.images.check_image`), reusing the on-disk cache.

    Args:
        files: The image files (duplicates are checked once).
        progress: Show a progress bar; ``None`` (default) means when more than :data:`PROGRESS_FROM`
            files are to be decoded and standard error is a terminal, on rank 0 only.
        workers: Threads for more than :data:`PARALLEL_FROM` files to decode; ``None`` means
            :func:`default_workers`; 1 checks them in this thread.
        use_cache: Read and update the cache (:func:`cache_entry_path`, one file per folder).

    Returns:
        A :class:`Verification`: a check for every file, and how many were decoded now.
    """
    paths = list(dict.fromkeys(f if isinstance(f, Path) else Path(f) for f in files))
    names = [os.fspath(path) for path in paths]  # plain strings from here on: 60 000 Paths cost seconds
    checks: list[ImageCheck | None] = [None] * len(paths)
    stamps: list[tuple[int, int]] = [(0, 0)] * len(paths)
    by_folder: dict[str, list[int]] = {}  # absolute folder -> indices
    absolute: dict[str, str] = {}
    for i, name in enumerate(names):
        try:
            stat = os.stat(name)
        except OSError as err:  # vanished or unreadable since the listing
            checks[i] = ImageCheck(error=f"{type(err).__name__}: {err.strerror or err}")
            continue
        stamps[i] = (stat.st_size, stat.st_mtime_ns)
        parent = os.path.dirname(name)
        if parent not in absolute:
            absolute[parent] = os.path.abspath(parent or ".")
        by_folder.setdefault(absolute[parent], []).append(i)
    entries: dict[str, dict[str, list]] = {}
    if use_cache:
        for folder, members in by_folder.items():
            entries[folder] = known = _read_entries(cache_entry_path(folder))
            for i in members:
                entry = known.get(os.path.basename(names[i]))
                if isinstance(entry, list) and len(entry) == 5 and (entry[0], entry[1]) == stamps[i]:
                    checks[i] = ImageCheck(int(entry[2]), int(entry[3]), entry[4])
    todo = [i for i, check in enumerate(checks) if check is None]
    if todo:
        show = (len(todo) > PROGRESS_FROM and sys.stderr.isatty()) if progress is None else progress  # not into logs
        show = show and getattr(rank_zero_only, "rank", 0) == 0
        workers = default_workers() if workers is None else max(1, workers)
        threads = workers if len(todo) > PARALLEL_FROM else 1
        for i, check in zip(todo, _check_all([paths[i] for i in todo], threads, show)):
            checks[i] = check
        if use_cache:  # each folder with a file decoded now gets its entry rewritten
            for folder in {absolute[os.path.dirname(names[i])] for i in todo}:
                _store_checks(folder, entries[folder], {
                    os.path.basename(names[i]): [*stamps[i], checks[i].width, checks[i].height, checks[i].error]
                    for i in by_folder[folder]})
    return Verification({path: check for path, check in zip(paths, checks) if check is not None}, len(todo))


def _check_all(paths: Sequence[Path], workers: int, progress: bool) -> list[ImageCheck]:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(paths), desc="checking images", unit="img", disable=not progress, file=sys.stderr,
               leave=False)
    try:
        if workers <= 1:
            results = []
            for path in paths:
                results.append(check_image(path))
                bar.update()
            return results
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check-images") as pool:
            results = []
            for result in pool.map(check_image, paths, chunksize=1):
                results.append(result)
                bar.update()
            return results
    finally:
        bar.close()


# -- reporting ------------------------------------------------------------------------------


def _few(bad: Mapping[Path, str], count: int) -> str:
    shown = [f"{path} ({reason})" for path, reason in list(bad.items())[:count]]
    more = len(bad) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _lines(bad: Mapping[Path, str], count: int) -> str:
    shown = [f"  {path} ({reason})" for path, reason in list(bad.items())[:count]]
    more = len(bad) - len(shown)
    return "\n".join(shown + ([f"  ... and {more} more"] if more > 0 else []))


def write_bad_list(bad: Mapping[Path, str], root: str | Path, run_dir: str | Path | None = None) -> Path | None:
    """Write the full list (``path<TAB>reason`` per line, after ``#`` comment lines) to :func:`bad_list_path`
    and, with ``run_dir``, to ``run_dir/bad_files.txt``; with no bad file, remove a stale list.
    Returns the cache copy's path (``None`` when there is nothing to list or it could not be written)."""
    path = bad_list_path(root)
    if not bad:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
        return None
    lines = [f"# {len(bad)} unreadable image file{'s' if len(bad) > 1 else ''} under {os.path.abspath(root)}, "
             "skipped by the zoo (checked with Pillow: open + verify + decode)",
             "# path<TAB>reason"]
    lines += [f"{os.path.abspath(file)}\t{reason}" for file, reason in bad.items()]
    text = "\n".join(lines) + "\n"
    written: Path | None = path
    try:
        _write_atomically(path, text)
    except OSError:
        written = None
    if run_dir is not None:
        try:
            _write_atomically(Path(run_dir) / RUN_DIR_LIST, text)
        except OSError:
            pass
    return written


def report_bad_files(bad: Mapping[Path, str], root: str | Path, *, what: str, strict: bool = False,
                     usable: int | None = None, note: str = "", run_dir: str | Path | None = None) -> Path | None:
    """Write the list of ``bad`` files (:func:`write_bad_list`), then warn once or raise.

    Args:
        bad: ``{path: reason}`` of the unreadable files (empty: nothing is said, a stale list is removed).
        root: The folder they were found under (names the list).
        what: Who is reading, to start the message (e.g. ``"ImageFolderDataModule(photos)"``).
        strict: Raise :class:`BadImagesError` instead of warning.
        usable: How many items are left; 0 raises :class:`BadImagesError` even without ``strict``.
        note: Appended to the first sentence (e.g. how many pairs were dropped with them).
        run_dir: Also write the list to ``run_dir/bad_files.txt``.

    Returns:
        The path of the full list, or ``None`` without bad files.
    """
    if not bad:
        write_bad_list(bad, root)
        return None
    list_path = write_bad_list(bad, root, run_dir)
    where = f"full list: {list_path}" if list_path is not None else "the list could not be written"
    count = f"{len(bad)} unreadable image file{'s' if len(bad) > 1 else ''}"
    if strict:
        raise BadImagesError(f"{what}: {count} (strict=True, so none is skipped):\n{_lines(bad, NAMED_STRICT)}\n"
                             f"{where}\nRemove or replace them, or set strict=False (--data.strict false) to skip them.",
                             bad, list_path)
    if usable == 0:
        raise BadImagesError(f"{what}: no readable image left, {count}:\n{_lines(bad, NAMED_STRICT)}\n{where}",
                             bad, list_path)
    rank_zero_warn(f"{what}: {count} skipped{note}: {_few(bad, NAMED)}; {where}", category=BadImagesWarning)
    return list_path


def copy_bad_files_list(datamodule: object, run_dir: str | Path) -> Path | None:
    """Copy a set-up DataModule's list of unreadable files (``datamodule.bad_files_list``) to
    ``run_dir/bad_files.txt``; returns the copy, or ``None`` when there is none (for ``zoo.fit``)."""
    source = getattr(datamodule, "bad_files_list", None)
    if source is None or not Path(source).is_file():
        return None
    target = Path(run_dir) / RUN_DIR_LIST
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


class VerifiedFiles:
    """Mixin of the folder DataModules: verify the listed files at set-up, skip or refuse the bad ones.

    The DataModule calls :meth:`set_verification` in ``__init__``, then at set-up
    :meth:`verify_files` on every listed file, filters its splits, and calls
    :meth:`skip_bad_files` (one warning, or the strict error) and
    :meth:`warn_odd_sizes` (needs the :class:`~datamodules.preprocess.Preprocessing` options).

    Attributes:
        strict: Raise :class:`BadImagesError` on any unreadable file instead of skipping it.
        run_dir: A run directory, set by the caller before set-up (``None``: unknown); the list
            of bad files is also written there as ``bad_files.txt``.
        bad_files: After set-up, ``{path: reason}`` of the skipped files (empty when none).
        bad_files_list: After set-up, the full list's path (``None`` when there is no bad file).
    """

    root: Path
    strict: bool = False
    run_dir: str | Path | None = None

    def set_verification(self, strict: bool) -> None:
        """Keep the ``strict`` option; nothing is checked until set-up."""
        self.strict = bool(strict)
        self.bad_files: dict[Path, str] = {}
        self.bad_files_list: Path | None = None

    @property
    def reader_name(self) -> str:
        """How the messages name this DataModule: ``ClassName(root)``."""
        return f"{type(self).__name__}({self.root})"

    def verify_files(self, files: Iterable[Path]) -> Verification:
        """:func:`verify_images` of ``files`` (cached; threads and a progress bar for many)."""
        return verify_images(files)

    def skip_bad_files(self, bad: Mapping[Path, str], usable: int, note: str = "") -> None:
        """Record ``bad``, write its list and warn once (or raise with ``strict`` / nothing ``usable``)."""
        self.bad_files = dict(bad)
        self.bad_files_list = report_bad_files(bad, self.root, what=self.reader_name, strict=self.strict,
                                               usable=usable, note=note, run_dir=self.run_dir)

    def warn_odd_sizes(self, sizes: Iterable[tuple[Path, tuple[int, int]]]) -> None:
        """One :class:`ImageSizeWarning` per kind (smaller than the output, beyond 4:1) among ``(path, (w, h))``."""
        for message in odd_size_messages(sizes, self.preprocess, self.image_size, self.load_size,  # type: ignore[attr-defined]
                                         self.reader_name):
            rank_zero_warn(message, category=ImageSizeWarning)
