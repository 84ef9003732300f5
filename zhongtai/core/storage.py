"""The default local file storage: Django's ``FileSystemStorage`` with a short path for the common save.

Every receipt stores two files (the signed data file, then the layout file), each through
``default_storage.save``. Django's save spends most of its time in generic Python around
the one system call that matters: the name is validated four times (``pathlib`` parsing
each time), probed with ``lstat`` for an alternative, joined and normalised twice
(``safe_join``), its directory is ``makedirs``-ed, the file is locked and written chunk by
chunk through a file object, and the stored name is recomputed with ``relpath``. About
100 µs of CPU per file, against some 15 µs for ``open(O_CREAT | O_EXCL)``, write, close.

:class:`LocalFileStorage` keeps Django's behaviour and skips that work when it cannot
change the outcome:

* A name made only of plain parts (relative, no empty, ``.`` or ``..`` part, no backslash)
  is one Django accepts unchanged and stores under the same name, so it needs none of the
  checks. Any other name goes to Django's own ``save``, which refuses it or normalises it
  exactly as it always has: the short path never accepts a name Django would refuse.
* The file is opened with ``O_CREAT | O_EXCL`` straight away. When that fails, nothing has
  been written, so Django's own ``save`` takes over and does what it would have done from
  the start: a name that is taken gets Django's alternative name (the pipeline relies on
  that: the loser of a race deletes only its own copy), a missing directory is created
  (with ``directory_permissions_mode`` if set), and any other error is Django's to raise.
  Directories are thus created only when a file needs one, not probed on every save.
* ``allow_overwrite``, content with a ``temporary_file_path`` (moved, not copied), a name
  longer than ``max_length`` and a subclass that overrides how names are chosen all take
  Django's path.

What the short path leaves out: Django's advisory ``flock`` on the file while it writes
it. The file was created by this very call (``O_EXCL``), so no other save is writing it;
the lock only matters to a reader that takes ``django.core.files.locks`` itself, and
nothing here does. The mode (``file_permissions_mode``) and the group of the storage
root are applied as Django applies them, in its order, through the open descriptor
(``fchmod``, ``fchown``) rather than by path after closing: the same file, the same result.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, TypeGuard

from django.core.files import File
from django.core.files.storage import FileSystemStorage

# What Django's FileSystemStorage opens a new file with when it must not overwrite one.
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)

# The steps of Django's save that the short path stands in for. A subclass that overrides
# one of them (say, to name files differently) keeps Django's path, so its override runs.
_STOOD_IN_FOR = (
    "_save",
    "get_available_name",
    "is_name_available",
    "get_alternative_name",
    "exists",
    "path",
    "_ensure_location_group_id",
)


def _is_plain_name(name: object) -> TypeGuard[str]:
    """A relative name whose parts are all ordinary file names: Django accepts it and stores it as it is.

    Django refuses an absolute name, a ``..`` part and an empty, ``.`` or ``..`` file name
    (``validate_file_name``, ``get_available_name``, ``safe_join``); it turns backslashes
    into slashes and normalises away empty and ``.`` parts (``a//b``, ``./a``). A name with
    none of these, and no NUL, passes every one of those checks unchanged and joins to a
    path inside the storage root.
    """
    if type(name) is not str or not name or name[0] == "/" or "\\" in name or "\x00" in name:
        return False
    parts = name.split("/")
    return "" not in parts and "." not in parts and ".." not in parts


def _write_chunks(fd: int, content: Any) -> None:
    """Write ``content.chunks()`` to ``fd`` as Django does: bytes as they are, text in the locale's encoding."""
    chunks = iter(content.chunks())
    first = next(chunks, None)
    if first is None:
        return
    if not isinstance(first, bytes):
        # Django picks the file's mode from the first chunk; text goes through a text file.
        with os.fdopen(fd, "wt", closefd=False) as text:
            text.write(first)
            for chunk in chunks:
                text.write(chunk)
        return
    _write_all(fd, first)
    for chunk in chunks:
        _write_all(fd, chunk)


def _write_all(fd: int, data: Any) -> None:
    written = os.write(fd, data)
    if written < len(data):  # a short write: rare on a regular file, but allowed
        view = memoryview(data)
        while written < len(view):
            written += os.write(fd, view[written:])


class LocalFileStorage(FileSystemStorage):
    """Django's ``FileSystemStorage``, saving a new file under a plain name without its generic overhead.

    Same options, same names returned, same refusals, never an overwritten file; see the
    module's docstring for what is skipped and why that cannot change the result.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cls = type(self)
        self._short_path = (
            os.name == "posix"
            and getattr(cls, "OS_OPEN_FLAGS", _CREATE_NEW) == _CREATE_NEW
            and all(getattr(cls, step) is getattr(LocalFileStorage, step) for step in _STOOD_IN_FOR)
        )

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        if (
            not self._short_path
            or self._allow_overwrite
            or not _is_plain_name(name)
            or (max_length and len(name) > max_length)  # Django shortens the name
        ):
            return super().save(name, content, max_length=max_length)
        if not hasattr(content, "chunks"):
            content = File(content, name)
        if hasattr(content, "temporary_file_path"):  # Django moves the file instead of copying it
            return super().save(name, content, max_length=max_length)
        full_path = os.path.join(self.location, name)
        try:
            fd = os.open(full_path, _CREATE_NEW, 0o666)
        except (OSError, ValueError):
            # Taken, no directory yet, or an error: nothing is written, so Django's save
            # does exactly what it would have done (another name, makedirs, the error).
            return super().save(name, content, max_length=max_length)
        try:
            _write_chunks(fd, content)
            self._settle(fd)
        finally:
            os.close(fd)
        return name

    def _settle(self, fd: int) -> None:
        """The mode and group Django gives a saved file, in its order, through the open descriptor."""
        if self.file_permissions_mode is not None:
            os.fchmod(fd, self.file_permissions_mode)
        # As _ensure_location_group_id: the group of the storage root, where the system lets us.
        location_gid = os.stat(self.location).st_gid
        if os.fstat(fd).st_gid != location_gid:
            with contextlib.suppress(PermissionError):
                os.fchown(fd, -1, location_gid)
