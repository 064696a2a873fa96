"""Missing data files: the one error that names them, and ``prepare_data`` that downloads them.

* :class:`DataNotFoundError`: what is missing, the folder it belongs in and where to
  download it, in one message (:meth:`DataNotFoundError.for_files`).
* :class:`DownloadableData`: the mixin whose ``prepare_data`` downloads missing files
  (or raises that error); MNIST, CIFAR-10 and the published pix2pix / CycleGAN sets use it.

:mod:`datamodules.base` re-exports both.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class DataNotFoundError(FileNotFoundError):
    """A data set's files are missing (and could not be downloaded).

    The message names the data set, the missing files, the folder they belong in
    and where to download them.  Build one with :meth:`for_files`.
    """

    @classmethod
    def for_files(
        cls,
        dataset: str,
        folder: str | Path,
        missing: Iterable[str],
        urls: Iterable[str],
        *,
        hint: str = "",
        download: bool = False,
        cause: BaseException | None = None,
    ) -> "DataNotFoundError":
        """Compose the single, complete error message.

        Args:
            dataset: Human name of the data set, e.g. ``"MNIST"``.
            folder: The exact folder the files must be in.
            missing: The missing file names.
            urls: Where to download them.
            hint: An extra sentence on how to lay the files out.
            download: Whether automatic download was enabled.
            cause: The exception of a failed automatic download, if any.
        """
        missing = list(missing)
        lines = [
            f"{dataset} data not found: missing {', '.join(missing)} in {folder}",
            f"Put the files in {folder}",
        ]
        if hint:
            lines.append(hint)
        lines.append("Download from:")
        lines.extend(f"  {url}" for url in urls)
        if cause is not None:
            lines.append(f"Automatic download failed: {type(cause).__name__}: {cause}")
        elif download:
            lines.append("prepare_data() downloads them (download=True); the Trainer calls it before setup().")
        else:
            lines.append("Automatic download is off (download=False).")
        err = cls("\n".join(lines))
        err.dataset, err.folder, err.missing = dataset, Path(folder), missing
        return err


class DownloadableData:
    """Mixin: ``prepare_data`` for files under a data folder that are downloaded when missing.

    Subclasses set ``download`` and implement :meth:`missing_files`,
    :meth:`fetch` and :meth:`not_found`.  Missing files with ``download=False``,
    a failed download, or a download that did not bring every file raise one
    :class:`DataNotFoundError` (:meth:`not_found`); so does :meth:`check_files`
    (``setup`` without the files).
    """

    download: bool = True

    def missing_files(self) -> list[str]:
        """Subclasses: the names of the needed files (or folders) not present."""
        raise NotImplementedError

    def fetch(self) -> None:
        """Subclasses: download (and extract) the files; raise on failure."""
        raise NotImplementedError

    def not_found(self, missing: list[str], cause: BaseException | None = None) -> DataNotFoundError:
        """Subclasses: the error for ``missing`` (``cause``: the failed download, if any)."""
        raise NotImplementedError

    def check_files(self) -> None:
        """Raise :meth:`not_found` when files are missing."""
        missing = self.missing_files()
        if missing:
            raise self.not_found(missing)

    def prepare_data(self) -> None:
        """Download missing files when ``download`` is true, else raise :class:`DataNotFoundError`."""
        missing = self.missing_files()
        if not missing:
            return
        if not self.download:
            raise self.not_found(missing)
        try:
            self.fetch()
        except Exception as exc:  # offline, server down, checksum mismatch, corrupt archive, ...
            raise self.not_found(missing, cause=exc) from exc
        still_missing = self.missing_files()
        if still_missing:
            raise self.not_found(still_missing, cause=RuntimeError("the download finished without these files"))
