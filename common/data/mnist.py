"""MNIST loader: find, (optionally) download, verify and read the four IDX files.

Usage::

    from common.data.mnist import load_mnist
    data = load_mnist(flags.mnist_dir)        # MnistData(train_images, ...)

Where the files are looked for (see :func:`resolve_mnist_dir`): the explicit
``mnist_dir`` argument (normally a ``--mnist_dir`` flag), else the
``MNIST_DIR`` environment variable, else ``~/.cache/memory_attention_tf2/mnist``.

The directory holds the four standard files, each either gzipped (``.gz``)
or plain; a gzipped copy is preferred when both exist::

    train-images-idx3-ubyte[.gz]   train-labels-idx1-ubyte[.gz]
    t10k-images-idx3-ubyte[.gz]    t10k-labels-idx1-ubyte[.gz]

Missing files are downloaded (as ``.gz``) from public mirrors unless
``download=False``, and each download is checked against the sha256 of the
*gunzipped* bytes, the same digests the original IDX files have.

Files already on disk are checked too, so a damaged file is named instead of
trained on: every file's IDX header must match its size, and a full-size file
(header count 60000 for train, 10000 for t10k, i.e. one that claims to be the
real file) must also match its sha256, hashed from the bytes already read (about
45 ms for all four here).  Files with any other count (subsets, the synthetic
sets the tests write) cannot be checked against the digests and are accepted on
their header alone.  ``verify=False`` skips the on-disk sha256 check, for a
different data set stored under MNIST's names (e.g. Fashion-MNIST).

Reading: the file names and the gz / plain convention are python-mnist's
(``mnist.MNIST``).  Its ``load_training()`` / ``load_testing()`` build a Python
list per image and took ~5.1 s for full MNIST here, against ~0.3 s for parsing
the same bytes with ``numpy.frombuffer``; so this module validates the IDX
header itself and parses with numpy.  ``tests/test_mnist.py`` checks that the
result is identical to python-mnist's.

Every failure raises :class:`MnistError` with a one-line message that names
the file and says how to fix it; no raw gzip / struct / urllib traceback leaks
out.
"""

import gzip
import hashlib
import http.client
import os
import struct
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from mnist import MNIST

__all__ = [
    "DEFAULT_MIRRORS",
    "DEFAULT_MNIST_DIR",
    "MNIST_COUNTS",
    "MNIST_FILES",
    "MNIST_SHA256",
    "MnistData",
    "MnistError",
    "load_mnist",
    "resolve_mnist_dir",
]

# Where the data lives when neither a flag nor MNIST_DIR says otherwise.
DEFAULT_MNIST_DIR = os.path.join("~", ".cache", "memory_attention_tf2", "mnist")
MNIST_DIR_ENV = "MNIST_DIR"

# Tried in order; the first one that serves a file with the right digest wins.
# yann.lecun.com is last because it often refuses or throttles downloads.
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# Seconds a single connect / read may block before that mirror counts as down.
DOWNLOAD_TIMEOUT_S = 30.0

# Take the names from python-mnist so the directory layout is the one its
# MNIST(dir, gz=...) reader expects.
_NAMES = MNIST()
TRAIN_IMAGES = _NAMES.train_img_fname  # 'train-images-idx3-ubyte'
TRAIN_LABELS = _NAMES.train_lbl_fname  # 'train-labels-idx1-ubyte'
TEST_IMAGES = _NAMES.test_img_fname  # 't10k-images-idx3-ubyte'
TEST_LABELS = _NAMES.test_lbl_fname  # 't10k-labels-idx1-ubyte'
del _NAMES
MNIST_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# sha256 of the gunzipped (raw IDX) bytes.  Hashing the decompressed bytes
# rather than the .gz makes the digest independent of how a mirror compressed
# the file, and lets the same table check plain files.
MNIST_SHA256 = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Example counts in the headers of the real files: only a file claiming this
# count is checked against MNIST_SHA256 (smaller or synthetic sets cannot be).
MNIST_COUNTS = {TRAIN_IMAGES: 60000, TRAIN_LABELS: 60000, TEST_IMAGES: 10000, TEST_LABELS: 10000}

# IDX magic numbers: 0x0000 0801 (unsigned byte, 1 dim) for labels and
# 0x0000 0803 (unsigned byte, 3 dims) for images.
_LABELS_MAGIC = 2049
_IMAGES_MAGIC = 2051
_ROWS = _COLS = 28
_NUM_CLASSES = 10


class MnistError(Exception):
  """Any failure to find, download, verify or read MNIST (one-line message)."""


class MnistData(NamedTuple):
  """The four MNIST arrays (N = 60000 train / 10000 test for real MNIST).

    train_images: uint8 [N_train, 28, 28], pixel values 0..255.
    train_labels: int64 [N_train], digit classes 0..9.
    test_images:  uint8 [N_test, 28, 28].
    test_labels:  int64 [N_test].
    """

  train_images: np.ndarray
  train_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray


def resolve_mnist_dir(mnist_dir: Optional[str] = None) -> str:
  """Return the MNIST directory: ``mnist_dir`` if given, else $MNIST_DIR, else the cache dir.

    Empty strings count as "not given", so an unset flag default of "" falls
    through to the environment variable.  ``~`` is expanded.
    """
  chosen = mnist_dir or os.environ.get(MNIST_DIR_ENV) or DEFAULT_MNIST_DIR
  return os.path.expanduser(chosen)


def load_mnist(
    mnist_dir: Optional[str] = None,
    download: bool = True,
    mirrors: Optional[Sequence[str]] = None,
    sha256: Optional[Dict[str, str]] = None,
    verify: bool = True,
) -> MnistData:
  """Load MNIST from ``resolve_mnist_dir(mnist_dir)``, downloading missing files first.

    Args:
      mnist_dir: directory with the four IDX files (``.gz`` or plain); None or
        "" means $MNIST_DIR, then ``~/.cache/memory_attention_tf2/mnist``.
      download: fetch missing files from ``mirrors``; if False a missing file
        raises :class:`MnistError` instead.
      mirrors: base URLs tried in order for each missing ``<name>.gz``;
        default :data:`DEFAULT_MIRRORS`.
      sha256: ``{file name without .gz: hex sha256 of the gunzipped bytes}``
        that downloads and full-size files on disk must match; default
        :data:`MNIST_SHA256`.  A name absent from the dict is neither checked
        when downloaded nor when read (so ``{}`` turns all checking off).
      verify: check files already on disk against ``sha256`` when their header
        count is the real one (:data:`MNIST_COUNTS`); files with other counts
        are only checked for a consistent header and size.  False skips that
        sha256 check (e.g. for Fashion-MNIST saved under MNIST's names);
        downloads are checked against ``sha256`` either way.

    Returns:
      :class:`MnistData` (images uint8 [N, 28, 28], labels int64 [N]); any N
      works, real MNIST has 60000 train and 10000 test examples.

    Raises:
      MnistError: a file is missing (and download is off or failed), a download
        or a full-size file on disk does not match its digest, or a file is
        truncated or corrupt.
    """
  directory = resolve_mnist_dir(mnist_dir)
  mirrors = DEFAULT_MIRRORS if mirrors is None else tuple(mirrors)
  sha256 = MNIST_SHA256 if sha256 is None else sha256

  paths = {name: _find_file(directory, name) for name in MNIST_FILES}
  missing = [name for name, path in paths.items() if path is None]
  if missing and not download:
    raise MnistError(f"MNIST file(s) {', '.join(missing)} (plain or .gz) not found in "
                     f"{directory}; pass --mnist_dir or set {MNIST_DIR_ENV}, or allow download")
  if missing:
    try:
      os.makedirs(directory, exist_ok=True)
    except OSError as e:
      raise MnistError(f"cannot create MNIST directory {directory} ({_one_line(e)}); "
                       f"pass --mnist_dir or set {MNIST_DIR_ENV} to a writable directory") from None
    for name in missing:
      paths[name] = _download(directory, name, mirrors, sha256.get(name))

  # A file just downloaded has already matched its digest: not hashed again.
  digests = {
      name: sha256.get(name) if verify and name not in missing else None for name in MNIST_FILES
  }
  train_images, train_labels = _read_split(paths, digests, TRAIN_IMAGES, TRAIN_LABELS)
  test_images, test_labels = _read_split(paths, digests, TEST_IMAGES, TEST_LABELS)
  return MnistData(train_images, train_labels, test_images, test_labels)


# --------------------------------------------------------------------------
# Finding and reading files.


def _find_file(directory: str, name: str) -> Optional[str]:
  """Path of ``name.gz`` or else ``name`` in ``directory``; None if neither exists.

    Decided per file so a directory holding e.g. a plain train set and a
    freshly downloaded gzipped test set still loads.
    """
  for candidate in (name + ".gz", name):
    path = os.path.join(directory, candidate)
    if os.path.isfile(path):
      return path
    if os.path.exists(path):
      raise MnistError(f"{path} is not a file (a directory?); move it away so that the MNIST "
                       f"file {candidate} can be read or downloaded there")
  return None


def _fix_hint(path: str) -> str:
  return f"delete {path} and re-download it (or re-run with download allowed)"


def _read_bytes(path: str) -> bytes:
  """All (gunzipped if ``.gz``) bytes of ``path``; unreadable files become MnistError."""
  is_gz = path.endswith(".gz")
  try:
    # python-mnist's opener: gzip.open(<name> + '.gz') when gz else open(<name>).
    opener = MNIST(os.path.dirname(path), gz=is_gz).opener
    with opener(path[:-len(".gz")] if is_gz else path, "rb") as f:
      return f.read()
  # BadGzipFile is an OSError; a truncated gzip stream raises EOFError and a
  # damaged deflate block raises zlib.error.
  except (OSError, EOFError, zlib.error) as e:
    kind = "corrupt or truncated gzip file" if is_gz else "unreadable file"
    raise MnistError(f"{kind} {path} ({_one_line(e)}); {_fix_hint(path)}") from None


def _parse_idx(path: str, data: bytes, magic: int) -> Tuple[int, np.ndarray]:
  """Check an IDX header against ``magic`` and the byte count; return (count, payload)."""
  header_len = 16 if magic == _IMAGES_MAGIC else 8
  what = "images" if magic == _IMAGES_MAGIC else "labels"
  if len(data) < header_len:
    raise MnistError(f"truncated MNIST {what} file {path} ({len(data)} bytes, shorter than "
                     f"the {header_len}-byte IDX header); {_fix_hint(path)}")
  got_magic, count = struct.unpack(">II", data[:8])
  if got_magic != magic:
    raise MnistError(f"bad IDX magic number {got_magic} in {path} (expected {magic} for "
                     f"{what}); corrupt or not an MNIST {what} file, {_fix_hint(path)}")
  item_size = 1
  if magic == _IMAGES_MAGIC:
    rows, cols = struct.unpack(">II", data[8:16])
    if (rows, cols) != (_ROWS, _COLS):
      raise MnistError(f"MNIST images file {path} has {rows}x{cols} images (expected "
                       f"{_ROWS}x{_COLS}); corrupt file, {_fix_hint(path)}")
    item_size = rows * cols
  expected = header_len + count * item_size
  if len(data) != expected:
    raise MnistError(f"MNIST {what} file {path} is {len(data)} bytes but its header says "
                     f"{count} {what} ({expected} bytes); truncated or corrupt, {_fix_hint(path)}")
  return count, np.frombuffer(data, dtype=np.uint8, offset=header_len)


def _check_digest(path: str, name: str, data: bytes, count: int, digest: Optional[str]) -> None:
  """Raise MnistError if ``data`` (the gunzipped bytes of ``path``, holding
    ``count`` examples) claims to be the real MNIST file ``name`` but does not
    match ``digest``.  No-op when ``digest`` is None or the count is not the
    real one (a subset or synthetic set has no known digest)."""
  if digest is None or count != MNIST_COUNTS[name]:
    return
  actual = hashlib.sha256(data).hexdigest()
  if actual != digest.lower():
    what = "gunzipped bytes" if path.endswith(".gz") else "bytes"
    raise MnistError(
        f"MNIST file {path} is damaged: sha256 mismatch (sha256 of its {what} is "
        f"{actual[:12]}..., expected {digest.lower()[:12]}... for the real {name} with "
        f"{count} examples); {_fix_hint(path)}, or pass verify=False to load_mnist if it is "
        f"deliberately another data set under MNIST's names (e.g. Fashion-MNIST)")


def _read_file(path: str, name: str, magic: int, digest: Optional[str]) -> Tuple[int, np.ndarray]:
  """Read, header-check and (if full-size) sha256-check one file: (count, payload)."""
  data = _read_bytes(path)
  count, payload = _parse_idx(path, data, magic)
  _check_digest(path, name, data, count, digest)
  return count, payload


def _read_split(paths: Dict[str, str], digests: Dict[str, Optional[str]], images_name: str,
                labels_name: str) -> Tuple[np.ndarray, np.ndarray]:
  """Read one split: (uint8 [N, 28, 28] images, int64 [N] labels)."""
  images_path, labels_path = paths[images_name], paths[labels_name]
  n_images, pixels = _read_file(images_path, images_name, _IMAGES_MAGIC, digests[images_name])
  n_labels, labels = _read_file(labels_path, labels_name, _LABELS_MAGIC, digests[labels_name])
  if n_images != n_labels:
    raise MnistError(f"{images_path} holds {n_images} images but {labels_path} holds "
                     f"{n_labels} labels; one is from another set or corrupt, delete both "
                     f"and re-download them")
  if labels.size and int(labels.max()) >= _NUM_CLASSES:
    raise MnistError(f"MNIST labels file {labels_path} has label {int(labels.max())} "
                     f"(expected 0..9); corrupt file, {_fix_hint(labels_path)}")
  # frombuffer views are read-only; copy so callers get ordinary arrays.
  images = pixels.reshape(n_images, _ROWS, _COLS).copy()
  return images, labels.astype(np.int64)


# --------------------------------------------------------------------------
# Downloading.


def _download(directory: str, name: str, mirrors: Sequence[str], digest: Optional[str]) -> str:
  """Fetch ``name.gz`` into ``directory`` from the first mirror that serves it intact.

    Each attempt streams into a temporary file in ``directory`` that is only
    renamed to ``name.gz`` once its gunzipped bytes match ``digest``, so an
    interrupted or bad download never sits under the real name.
    """
  final_path = os.path.join(directory, name + ".gz")
  if not mirrors:
    raise MnistError(f"MNIST file {name} is missing from {directory} and no download mirrors "
                     f"were given; pass --mnist_dir or set {MNIST_DIR_ENV}, or give mirrors")
  last_error = "no attempt made"
  for mirror in mirrors:
    url = mirror.rstrip("/") + "/" + name + ".gz"
    print(f"MNIST: downloading {url} -> {final_path}", file=sys.stderr, flush=True)
    tmp_path = None
    try:
      fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
      with os.fdopen(fd, "wb") as out:
        _fetch(url, out)
      problem = _check_download(tmp_path, digest)
      if problem is None:
        os.replace(tmp_path, final_path)  # atomic on POSIX and Windows
        return final_path
      last_error = f"{url}: {problem}"
      print(f"MNIST: {last_error}; deleted it", file=sys.stderr, flush=True)
    except (OSError, http.client.HTTPException, ValueError) as e:
      # URLError / HTTPError / timeouts are OSErrors; HTTPException covers
      # e.g. IncompleteRead; ValueError covers a malformed mirror URL.
      last_error = f"{url}: {_one_line(e)}"
      print(f"MNIST: failed, {last_error}", file=sys.stderr, flush=True)
    finally:
      if tmp_path is not None and os.path.exists(tmp_path):
        os.remove(tmp_path)
  raise MnistError(
      f"could not download MNIST file {name}.gz from any of {len(mirrors)} mirror(s) "
      f"({', '.join(mirrors)}); last error: {last_error}; check the network or "
      f"download it into {directory} yourself (or pass --mnist_dir / set {MNIST_DIR_ENV})")


def _fetch(url: str, out) -> None:
  """Stream ``url`` into the open binary file ``out``."""
  # A fresh opener per call (rather than urlopen's cached global one) so the
  # current proxy environment variables are honoured.
  opener = urllib.request.build_opener()
  with opener.open(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
    while True:
      chunk = response.read(1 << 20)
      if not chunk:
        break
      out.write(chunk)


def _check_download(path: str, digest: Optional[str]) -> Optional[str]:
  """None if ``path`` gunzips (and matches ``digest`` when given), else why not."""
  hasher = hashlib.sha256()
  try:
    with gzip.open(path, "rb") as f:
      while True:
        chunk = f.read(1 << 20)
        if not chunk:
          break
        hasher.update(chunk)
  except (OSError, EOFError, zlib.error) as e:
    return f"not a valid gzip file ({_one_line(e)})"
  if digest is not None and hasher.hexdigest() != digest.lower():
    return f"sha256 of gunzipped bytes is {hasher.hexdigest()}, expected {digest}"
  return None


def _one_line(error: BaseException) -> str:
  """``error`` as a single line (some urllib / OS messages span lines)."""
  text = " ".join(str(error).split()) or type(error).__name__
  return f"{type(error).__name__}: {text}"
