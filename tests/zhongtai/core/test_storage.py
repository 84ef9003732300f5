"""LocalFileStorage saves like Django's FileSystemStorage: same names, same refusals, never an overwrite."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import TemporaryUploadedFile

from zhongtai.core.storage import LocalFileStorage

RECEIPT_NAME = "receipts/43010126/000000/0000000123-einvoice.xml"
SANDBOX_NAME = "receipts/sandbox/43010126/000012/0000123456-einvoice.pdf"


@pytest.fixture
def fresh_random(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Django's alternative names made predictable: call it to restart the sequence (one per storage)."""
    counter: list[Iterator[int]] = [itertools.count()]
    monkeypatch.setattr(
        "django.core.files.storage.base.get_random_string", lambda length: f"{next(counter[0]):0{length}d}"
    )

    def restart() -> None:
        counter[0] = itertools.count()

    return restart


def _tree(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every entry under ``root``: relative path -> (bytes of a file or None for a directory, mode bits)."""
    found: dict[str, tuple[bytes | None, int]] = {}
    for path in sorted(root.rglob("*")):
        mode = stat.S_IMODE(path.lstat().st_mode)
        found[path.relative_to(root).as_posix()] = (None if path.is_dir() else path.read_bytes(), mode)
    return found


def _side_by_side(tmp_path: Path, **options: object) -> tuple[FileSystemStorage, LocalFileStorage]:
    (tmp_path / "django").mkdir(parents=True)
    (tmp_path / "lean").mkdir(parents=True)
    return (
        FileSystemStorage(location=tmp_path / "django", **options),  # type: ignore[arg-type]
        LocalFileStorage(location=tmp_path / "lean", **options),  # type: ignore[arg-type]
    )


# Names Django stores as they are: the short path's.
PLAIN_NAMES = [
    RECEIPT_NAME,
    SANDBOX_NAME,
    "receipts/43010126/0000000123/einvoice.xml",  # the layout before, still read
    "a.txt",
    "archive.tar.gz",
    ".hidden",
    "dir/.hidden",
    "...",
    "a/.../b.txt",
    "with space/file name.xml",
    "票据/电子票据.pdf",
]
# Names Django accepts but normalises: LocalFileStorage leaves them to Django.
NORMALISED_NAMES = ["a//b.txt", "./a.txt", "a/./b.txt", "a\\b.txt", "dir\\sub\\c.txt"]


@contextlib.contextmanager
def _djangos_path_forbidden() -> Iterator[None]:
    """Fail if Django's own save (the fallback) or makedirs runs inside the block."""
    with (
        mock.patch.object(FileSystemStorage, "save", side_effect=AssertionError("Django's save taken")),
        mock.patch("os.makedirs", side_effect=AssertionError("makedirs called")),
    ):
        yield


@pytest.mark.parametrize("name", PLAIN_NAMES + NORMALISED_NAMES)
@pytest.mark.parametrize("where", ["new directory", "existing directory", "taken"])
def test_the_name_returned_and_the_files_left_are_djangos(
    tmp_path: Path, fresh_random: Callable[[], None], name: str, where: str
) -> None:
    # Given Django's storage and ours in two equal fresh folders; the directory there or not, the name taken or not
    django_storage, lean = _side_by_side(tmp_path)
    for storage in (django_storage, lean):
        fresh_random()
        if where == "taken":
            FileSystemStorage(location=storage.location).save(name, ContentFile(b"first"))
        elif where == "existing directory":
            FileSystemStorage(location=storage.location).save(
                os.path.join(os.path.dirname(name.replace("\\", "/")), "neighbour"), ContentFile(b"")
            )

    # When each saves the same content under the same name
    fresh_random()
    from_django = django_storage.save(name, ContentFile(b"<receipt/>" * 440))
    fresh_random()
    if where == "existing directory" and name in PLAIN_NAMES:
        with _djangos_path_forbidden():  # the common case is the short path's
            from_lean = lean.save(name, ContentFile(b"<receipt/>" * 440))
    else:
        from_lean = lean.save(name, ContentFile(b"<receipt/>" * 440))

    # Then both return the same name and leave the same files, with the same bytes and modes
    assert from_lean == from_django
    assert _tree(tmp_path / "django") == _tree(tmp_path / "lean")
    assert (tmp_path / "lean" / from_lean).read_bytes() == b"<receipt/>" * 440


def test_a_receipt_file_in_an_existing_directory_takes_the_short_path(tmp_path: Path) -> None:
    # Given a storage whose receipt directory exists (the common case: 10,000 numbers per directory)
    storage = LocalFileStorage(location=tmp_path)
    storage.save("receipts/43010126/000000/0000000122-einvoice.xml", ContentFile(b"before"))

    # When the next receipt's file is saved, with Django's own save unavailable
    with _djangos_path_forbidden():
        name = storage.save(RECEIPT_NAME, ContentFile(b"<xml/>"))

    # Then it is stored under its own name without Django's path and without makedirs
    assert name == RECEIPT_NAME
    assert (tmp_path / RECEIPT_NAME).read_bytes() == b"<xml/>"


def test_the_same_name_twice_gives_two_files_each_with_its_own_bytes(tmp_path: Path) -> None:
    # Given a storage
    storage = LocalFileStorage(location=tmp_path)

    # When the same name is saved twice with different content
    first = storage.save(RECEIPT_NAME, ContentFile(b"winner"))
    second = storage.save(RECEIPT_NAME, ContentFile(b"loser"))

    # Then the second gets Django's alternative name, and both files keep their bytes
    assert first == RECEIPT_NAME
    assert second != first
    assert second.startswith("receipts/43010126/000000/0000000123-einvoice_")
    assert second.endswith(".xml")
    assert storage.open(first).read() == b"winner"
    assert storage.open(second).read() == b"loser"
    # so the loser deletes only its own copy
    storage.delete(second)
    assert storage.open(first).read() == b"winner"


def test_a_file_that_appears_outside_the_storage_is_never_overwritten(tmp_path: Path) -> None:
    # Given a file created behind the storage's back (another process, another host on the volume)
    target = tmp_path / RECEIPT_NAME
    target.parent.mkdir(parents=True)
    target.write_bytes(b"already here")
    storage = LocalFileStorage(location=tmp_path)

    # When a file is saved under that name
    name = storage.save(RECEIPT_NAME, ContentFile(b"new"))

    # Then the existing file is untouched and the new one has a name of its own
    assert target.read_bytes() == b"already here"
    assert name != RECEIPT_NAME
    assert (tmp_path / name).read_bytes() == b"new"


def test_a_directory_or_a_dangling_link_under_the_name_is_not_written_through(tmp_path: Path) -> None:
    # Given the name taken by a directory, and another by a symbolic link to nowhere
    storage = LocalFileStorage(location=tmp_path)
    (tmp_path / "a.xml").mkdir()
    (tmp_path / "b.xml").symlink_to(tmp_path / "elsewhere.xml")

    # When files are saved under those names
    a_name = storage.save("a.xml", ContentFile(b"a"))
    b_name = storage.save("b.xml", ContentFile(b"b"))

    # Then each gets another name, and nothing is written through the link
    assert a_name != "a.xml" and (tmp_path / a_name).read_bytes() == b"a"
    assert b_name != "b.xml" and (tmp_path / b_name).read_bytes() == b"b"
    assert not (tmp_path / "elsewhere.xml").exists()


def test_racing_writers_each_get_a_file_of_their_own(tmp_path: Path) -> None:
    # Given eight threads saving the same name at once
    storage = LocalFileStorage(location=tmp_path)
    storage.save("receipts/warm.xml", ContentFile(b""))  # the directory exists: all take the short path
    names: dict[int, str] = {}
    start = threading.Barrier(8)

    def write(i: int) -> None:
        start.wait()
        names[i] = storage.save(RECEIPT_NAME.replace("43010126/000000/", ""), ContentFile(b"writer %d" % i))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then there are eight names, and each file holds the bytes of the writer it was returned to
    assert len(set(names.values())) == 8
    for i, name in names.items():
        assert storage.open(name).read() == b"writer %d" % i


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "/etc/x",
        "a/../../x",
        "a/./../x",
        "a/..",
        "..",
        ".",
        "",
        "a/",
        "a/.",
        "//x",
        "..\\x",
        "\\etc\\x",
        "a\\..\\..\\x",
        "receipts/43010126/../../../x.xml",
    ],
)
def test_traversal_and_empty_names_are_refused_like_django(tmp_path: Path, name: str) -> None:
    # Given Django's storage and ours
    django_storage, lean = _side_by_side(tmp_path / "root")

    # When each is asked to save under the name
    with pytest.raises(SuspiciousFileOperation) as django_refusal:
        django_storage.save(name, ContentFile(b"x"))
    with pytest.raises(SuspiciousFileOperation) as lean_refusal:
        lean.save(name, ContentFile(b"x"))

    # Then both refuse with the same message and nothing is written anywhere
    assert str(lean_refusal.value) == str(django_refusal.value)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_missing_nested_directories_are_created(tmp_path: Path) -> None:
    # Given a storage whose root does not exist yet
    storage = LocalFileStorage(location=tmp_path / "media")

    # When a receipt file is saved
    name = storage.save(SANDBOX_NAME, ContentFile(b"%PDF"))

    # Then every missing directory is made and the file is there
    assert name == SANDBOX_NAME
    assert (tmp_path / "media" / SANDBOX_NAME).read_bytes() == b"%PDF"


@pytest.mark.parametrize("blocking", ["receipts", "receipts/43010126/000000"], ids=["ancestor", "parent"])
def test_a_file_where_a_directory_is_needed_fails_as_in_django(tmp_path: Path, blocking: str) -> None:
    # Given, in both storages, a file where the name needs a directory
    django_storage, lean = _side_by_side(tmp_path)
    for storage in (django_storage, lean):
        Path(storage.location, blocking).parent.mkdir(parents=True, exist_ok=True)
        Path(storage.location, blocking).write_bytes(b"not a directory")

    # When each saves under it, Then both raise the same error
    with pytest.raises(OSError) as django_error:
        django_storage.save(RECEIPT_NAME, ContentFile(b"x"))
    with pytest.raises(OSError) as lean_error:
        lean.save(RECEIPT_NAME, ContentFile(b"x"))
    assert type(lean_error.value) is type(django_error.value)
    assert str(lean_error.value) == str(django_error.value).replace("/django/", "/lean/")


@pytest.fixture
def umask_077() -> Iterator[None]:
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("umask_077")
@pytest.mark.parametrize(
    "options",
    [
        {},  # FILE_UPLOAD_PERMISSIONS: 0o644 whatever the umask
        {"file_permissions_mode": 0o640},
        {"file_permissions_mode": 0o600, "directory_permissions_mode": 0o750},
        {"directory_permissions_mode": 0o711},
    ],
)
def test_permission_modes_are_djangos(tmp_path: Path, options: dict[str, int]) -> None:
    # Given both storages with the same modes, under a strict umask
    django_storage, lean = _side_by_side(tmp_path, **options)

    # When each saves a file into new directories, then another beside it
    for storage in (django_storage, lean):
        storage.save(RECEIPT_NAME, ContentFile(b"one"))
        storage.save(RECEIPT_NAME.replace("0123", "0124"), ContentFile(b"two"))

    # Then files and directories have the same modes in both
    lean_tree = _tree(tmp_path / "lean")
    assert lean_tree == _tree(tmp_path / "django")
    expected = options.get("file_permissions_mode", 0o644)
    assert lean_tree[RECEIPT_NAME] == (b"one", expected)
    if "directory_permissions_mode" in options:
        assert lean_tree["receipts/43010126"] == (None, options["directory_permissions_mode"])


def test_the_group_of_the_storage_root_is_given_to_the_file(tmp_path: Path) -> None:
    # Given a storage root owned by another group than this process's (root may give it one)
    if os.geteuid() != 0:
        pytest.skip("changing a directory's group to an arbitrary one needs root")
    other_gid = os.getegid() + 4242
    os.chown(tmp_path, -1, other_gid)
    storage = LocalFileStorage(location=tmp_path)
    storage.save("receipts/warm.xml", ContentFile(b""))

    # When a file is saved on the short path
    name = storage.save("receipts/file.xml", ContentFile(b"x"))

    # Then it carries the root's group, as Django's save would give it
    assert (tmp_path / name).stat().st_gid == other_gid


def test_overwriting_storage_keeps_djangos_overwrite(tmp_path: Path) -> None:
    # Given a storage told to overwrite
    storage = LocalFileStorage(location=tmp_path, allow_overwrite=True)

    # When the same name is saved twice
    first = storage.save(RECEIPT_NAME, ContentFile(b"first, longer"))
    second = storage.save(RECEIPT_NAME, ContentFile(b"second"))

    # Then the second replaced the first under the same name
    assert first == second == RECEIPT_NAME
    assert (tmp_path / RECEIPT_NAME).read_bytes() == b"second"


@pytest.mark.parametrize("max_length", [None, 0, 60, 49])
def test_max_length_is_honoured_as_in_django(
    tmp_path: Path, fresh_random: Callable[[], None], max_length: int | None
) -> None:
    # Given both storages, the name (49 characters) already taken in each
    django_storage, lean = _side_by_side(tmp_path)
    results: list[str] = []
    for storage in (django_storage, lean):
        fresh_random()
        FileSystemStorage(location=storage.location).save(RECEIPT_NAME, ContentFile(b"first"))
        fresh_random()
        # When each saves it again with the limit
        try:
            results.append(storage.save(RECEIPT_NAME, ContentFile(b"second"), max_length=max_length))
        except SuspiciousFileOperation as refusal:  # Django's answer to max_length=0 for a taken name
            results.append(f"refused: {refusal}")

    # Then both pick the same name, within the limit when there is one (or refuse alike)
    assert results[0] == results[1]
    if not results[1].startswith("refused"):
        assert len(results[1]) <= (max_length or len(results[1]))
        assert (tmp_path / "lean" / results[1]).read_bytes() == b"second"
    assert _tree(tmp_path / "lean") == _tree(tmp_path / "django")


def test_a_name_longer_than_max_length_is_shortened_as_in_django(
    tmp_path: Path, fresh_random: Callable[[], None]
) -> None:
    # Given both storages, the receipt directory there, and a free name longer than the limit
    django_storage, lean = _side_by_side(tmp_path)
    results = []
    for storage in (django_storage, lean):
        Path(storage.location, RECEIPT_NAME).parent.mkdir(parents=True)
        fresh_random()
        results.append(storage.save(RECEIPT_NAME, ContentFile(b"x"), max_length=40))

    # Then both shorten it the same way
    assert results[0] == results[1]
    assert len(results[1]) <= 40


def test_an_uploaded_file_with_a_temporary_path_is_moved_in(tmp_path: Path) -> None:
    # Given an upload Django spooled to a temporary file
    upload = TemporaryUploadedFile("upload.pdf", "application/pdf", 4, None)
    upload.write(b"%PDF")
    upload.flush()
    temporary = upload.temporary_file_path()
    storage = LocalFileStorage(location=tmp_path)
    (tmp_path / "uploads").mkdir()

    # When it is saved
    name = storage.save("uploads/upload.pdf", upload)

    # Then it was moved into the storage, as Django does
    assert name == "uploads/upload.pdf"
    assert (tmp_path / name).read_bytes() == b"%PDF"
    assert not os.path.exists(temporary)
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644
    upload.close()  # its temporary file is gone: Django's close allows for that


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lambda: ContentFile(b""), id="empty"),
        pytest.param(lambda: ContentFile("文本 text"), id="text"),
        pytest.param(lambda: ContentFile(bytes(range(256)) * 800), id="several chunks"),
        pytest.param(lambda: io.BytesIO(b"plain file object"), id="not a File"),
        pytest.param(lambda: File(io.BytesIO(b"a File")), id="File"),
    ],
)
def test_any_content_is_written_as_django_writes_it(tmp_path: Path, content: Callable[[], object]) -> None:
    # Given both storages, the receipt directory there, and equal content of each kind
    django_storage, lean = _side_by_side(tmp_path)
    for storage in (django_storage, lean):
        Path(storage.location, RECEIPT_NAME).parent.mkdir(parents=True)

    # When each saves it
    names = [django_storage.save(RECEIPT_NAME, content())]
    with _djangos_path_forbidden():
        names.append(lean.save(RECEIPT_NAME, content()))

    # Then the same name holds the same bytes
    assert names == [RECEIPT_NAME, RECEIPT_NAME]
    assert _tree(tmp_path / "lean") == _tree(tmp_path / "django")


def test_short_writes_are_completed(tmp_path: Path) -> None:
    # Given a storage whose receipt directory exists, and a system that writes at most 1,000 bytes a call
    storage = LocalFileStorage(location=tmp_path)
    (tmp_path / RECEIPT_NAME).parent.mkdir(parents=True)
    real_write = os.write
    payload = bytes(range(256)) * 20

    # When a 5,120-byte file is saved
    with mock.patch("os.write", side_effect=lambda fd, data: real_write(fd, bytes(data[:1000]))) as write:
        storage.save(RECEIPT_NAME, ContentFile(payload))

    # Then every byte is written, in as many calls as it took
    assert (tmp_path / RECEIPT_NAME).read_bytes() == payload
    assert write.call_count == 6


def test_a_name_from_the_content_when_none_is_given(tmp_path: Path) -> None:
    # Given content that carries its own name
    storage = LocalFileStorage(location=tmp_path)

    # When it is saved without a name, Then it is stored under the content's name
    assert storage.save(None, ContentFile(b"x", name="named.xml")) == "named.xml"
    assert (tmp_path / "named.xml").read_bytes() == b"x"


def test_a_subclass_that_names_files_itself_is_honoured(tmp_path: Path) -> None:
    # Given a subclass that chooses names its own way
    class Prefixed(LocalFileStorage):
        def get_available_name(self, name: str, max_length: int | None = None) -> str:
            return super().get_available_name(f"prefixed/{name}", max_length=max_length)

    storage = Prefixed(location=tmp_path)

    # When it saves, Then its naming applies
    assert storage.save("a.xml", ContentFile(b"x")) == "prefixed/a.xml"
    assert (tmp_path / "prefixed" / "a.xml").read_bytes() == b"x"


def test_reading_deleting_and_urls_still_work(tmp_path: Path) -> None:
    # Given a saved file
    storage = LocalFileStorage(location=tmp_path, base_url="/media/")
    name = storage.save(RECEIPT_NAME, ContentFile(b"<xml/>"))

    # Then it can be found, read, measured and addressed
    assert storage.exists(name)
    with storage.open(name, "rb") as handle:
        assert handle.read() == b"<xml/>"
    assert storage.size(name) == 6
    assert storage.path(name) == str(tmp_path / RECEIPT_NAME)
    assert storage.url(name) == f"/media/{RECEIPT_NAME}"
    assert storage.listdir("receipts/43010126/000000") == ([], ["0000000123-einvoice.xml"])

    # When it is deleted, Then it is gone
    storage.delete(name)
    assert not storage.exists(name)


def test_the_default_storage_is_ours_in_the_base_settings() -> None:
    from config.settings import base

    assert base.STORAGES["default"]["BACKEND"] == "zhongtai.core.storage.LocalFileStorage"
