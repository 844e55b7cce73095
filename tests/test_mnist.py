"""Tests for common/data/mnist.py.

Everything runs on tiny IDX files written into tmp_path; downloads are served
by a local http.server on 127.0.0.1 (nothing else is ever contacted).  The
real-MNIST test runs only when $MNIST_DIR points at an existing directory.
"""

import functools
import gzip
import hashlib
import http.server
import os
import socket
import threading

import numpy as np
import pytest
from mnist import MNIST

from mnist_testing import idx_images_bytes, idx_labels_bytes, write_synthetic_mnist

from common.data import mnist as mnist_mod
from common.data.mnist import (
    MNIST_COUNTS,
    MNIST_FILES,
    MNIST_SHA256,
    MnistData,
    MnistError,
    load_mnist,
    resolve_mnist_dir,
)

TRAIN_N, TEST_N = 5, 3

# --------------------------------------------------------------------------
# Helpers.


def make_arrays(seed=0):
  """Small random MnistData with TRAIN_N / TEST_N examples."""
  rng = np.random.default_rng(seed)
  return MnistData(
      rng.integers(0, 256, (TRAIN_N, 28, 28), dtype=np.uint8),
      rng.integers(0, 10, TRAIN_N).astype(np.int64),
      rng.integers(0, 256, (TEST_N, 28, 28), dtype=np.uint8),
      rng.integers(0, 10, TEST_N).astype(np.int64),
  )


def raw_files(data):
  """{file name: raw IDX bytes} for a MnistData."""
  return {
      "train-images-idx3-ubyte": idx_images_bytes(data.train_images),
      "train-labels-idx1-ubyte": idx_labels_bytes(data.train_labels),
      "t10k-images-idx3-ubyte": idx_images_bytes(data.test_images),
      "t10k-labels-idx1-ubyte": idx_labels_bytes(data.test_labels),
  }


def write_mnist(directory, data, gz, names=None):
  """Write (a subset of) the four IDX files for ``data`` into ``directory``."""
  os.makedirs(directory, exist_ok=True)
  for name, raw in raw_files(data).items():
    if names is not None and name not in names:
      continue
    if gz:
      with gzip.open(os.path.join(directory, name + ".gz"), "wb") as f:
        f.write(raw)
    else:
      with open(os.path.join(directory, name), "wb") as f:
        f.write(raw)


def sha_table(data):
  return {name: hashlib.sha256(raw).hexdigest() for name, raw in raw_files(data).items()}


def assert_same(loaded, expected):
  assert isinstance(loaded, MnistData)
  for got, want in zip(loaded, expected):
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def assert_one_line_naming(excinfo, *parts):
  message = str(excinfo.value)
  assert "\n" not in message
  for part in parts:
    assert part in message, (part, message)


@pytest.fixture
def no_env(monkeypatch):
  """No MNIST_DIR and no proxies, so only the arguments decide and 127.0.0.1 is direct."""
  monkeypatch.delenv("MNIST_DIR", raising=False)
  for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    monkeypatch.delenv(var, raising=False)
  monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

  def log_message(self, *args):
    pass


@pytest.fixture
def serve(tmp_path):
  """serve(directory) -> base URL of an HTTP server on 127.0.0.1 serving it."""
  servers = []

  def start(directory):
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={
        "poll_interval": 0.05
    }, daemon=True).start()
    servers.append(server)
    return f"http://127.0.0.1:{server.server_address[1]}/"

  yield start
  for server in servers:
    server.shutdown()
    server.server_close()


def closed_port_url():
  """URL on 127.0.0.1 where nothing listens (connection refused)."""
  sock = socket.socket()
  sock.bind(("127.0.0.1", 0))
  port = sock.getsockname()[1]
  sock.close()
  return f"http://127.0.0.1:{port}/"


# --------------------------------------------------------------------------
# Reading.


def test_file_names_match_python_mnist():
  m = MNIST()
  assert set(MNIST_FILES) == {
      m.train_img_fname, m.train_lbl_fname, m.test_img_fname, m.test_lbl_fname
  }
  assert set(MNIST_SHA256) == set(MNIST_FILES)


@pytest.mark.parametrize("gz", [True, False])
def test_load_round_trip(tmp_path, no_env, gz):
  data = make_arrays()
  write_mnist(tmp_path, data, gz=gz)
  assert_same(load_mnist(str(tmp_path), download=False), data)


@pytest.mark.parametrize("gz", [True, False])
def test_matches_python_mnist_reader(tmp_path, no_env, gz):
  data = make_arrays(1)
  write_mnist(tmp_path, data, gz=gz)
  loaded = load_mnist(str(tmp_path), download=False)
  reader = MNIST(str(tmp_path), gz=gz, return_type="numpy")
  for (images, labels), split in ((reader.load_training(), loaded[:2]), (reader.load_testing(),
                                                                         loaded[2:])):
    np.testing.assert_array_equal(split[0].reshape(len(split[0]), -1), images)
    np.testing.assert_array_equal(split[1], labels)


def test_prefers_gz_and_mixes_per_file(tmp_path, no_env):
  gz_data, plain_data = make_arrays(2), make_arrays(3)
  write_mnist(tmp_path, plain_data, gz=False)
  write_mnist(tmp_path, gz_data, gz=True)
  assert_same(load_mnist(str(tmp_path), download=False), gz_data)

  # Only the test split gzipped: train comes from the plain files.
  for name in MNIST_FILES:
    if name.startswith("train"):
      os.remove(tmp_path / (name + ".gz"))
  loaded = load_mnist(str(tmp_path), download=False)
  assert_same(loaded, MnistData(*plain_data[:2], *gz_data[2:]))


def test_loaded_arrays_are_writable(tmp_path, no_env):
  write_mnist(tmp_path, make_arrays(), gz=True)
  loaded = load_mnist(str(tmp_path), download=False)
  loaded.train_images[0, 0, 0] = 7
  loaded.train_labels[0] = 3


def test_empty_split_loads(tmp_path, no_env):
  data = make_arrays()
  empty = MnistData(data.train_images, data.train_labels, np.zeros((0, 28, 28), np.uint8),
                    np.zeros((0,), np.int64))
  write_mnist(tmp_path, empty, gz=True)
  assert_same(load_mnist(str(tmp_path), download=False), empty)


# --------------------------------------------------------------------------
# Directory resolution.


def test_resolve_precedence(tmp_path, monkeypatch):
  monkeypatch.delenv("MNIST_DIR", raising=False)
  assert resolve_mnist_dir() == os.path.expanduser(
      os.path.join("~", ".cache", "memory_attention_tf2", "mnist"))
  assert resolve_mnist_dir("") == resolve_mnist_dir(None)
  monkeypatch.setenv("MNIST_DIR", str(tmp_path / "env"))
  assert resolve_mnist_dir() == str(tmp_path / "env")
  assert resolve_mnist_dir(str(tmp_path / "flag")) == str(tmp_path / "flag")
  monkeypatch.setenv("HOME", str(tmp_path / "home"))
  assert resolve_mnist_dir("~/x") == str(tmp_path / "home" / "x")


def test_load_uses_env_var_and_flag_wins(tmp_path, no_env, monkeypatch):
  env_data, flag_data = make_arrays(4), make_arrays(5)
  write_mnist(tmp_path / "env", env_data, gz=True)
  write_mnist(tmp_path / "flag", flag_data, gz=False)
  monkeypatch.setenv("MNIST_DIR", str(tmp_path / "env"))
  assert_same(load_mnist(download=False), env_data)
  assert_same(load_mnist(str(tmp_path / "flag"), download=False), flag_data)


# --------------------------------------------------------------------------
# Errors on local files.


def test_missing_file_without_download(tmp_path, no_env):
  write_mnist(
      tmp_path,
      make_arrays(),
      gz=True,
      names={"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"})
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  assert_one_line_naming(excinfo, "t10k-labels-idx1-ubyte", str(tmp_path),
                         "pass --mnist_dir or set MNIST_DIR, or allow download")
  assert "train-images" not in str(excinfo.value)


def test_missing_dir_without_download(tmp_path, no_env):
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path / "nope"), download=False)
  assert_one_line_naming(excinfo, str(tmp_path / "nope"), "train-images-idx3-ubyte")


def _corrupt(path, raw):
  with open(path, "wb") as f:
    f.write(raw)


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_images_file(tmp_path, no_env, gz):
  write_mnist(tmp_path, make_arrays(), gz=gz)
  name = "train-images-idx3-ubyte"
  raw = raw_files(make_arrays())[name][:-100]
  path = tmp_path / (name + ".gz" if gz else name)
  if gz:
    with gzip.open(path, "wb") as f:  # a valid gzip of a short IDX file
      f.write(raw)
  else:
    _corrupt(path, raw)
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  assert_one_line_naming(excinfo, str(path), "truncated", "delete", "re-download")


def test_truncated_gzip_stream(tmp_path, no_env):
  write_mnist(tmp_path, make_arrays(), gz=True)
  path = tmp_path / "t10k-images-idx3-ubyte.gz"
  _corrupt(path, path.read_bytes()[:-30])  # cut mid-stream
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  assert_one_line_naming(excinfo, str(path), "delete", "re-download")


def test_corrupt_gzip(tmp_path, no_env):
  write_mnist(tmp_path, make_arrays(), gz=True)
  path = tmp_path / "train-labels-idx1-ubyte.gz"
  _corrupt(path, b"this is not gzip data at all" * 10)
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  assert_one_line_naming(excinfo, str(path), "gzip", "delete", "re-download")


def test_tiny_header(tmp_path, no_env):
  write_mnist(tmp_path, make_arrays(), gz=False)
  path = tmp_path / "t10k-labels-idx1-ubyte"
  _corrupt(path, b"\x00\x00")
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  assert_one_line_naming(excinfo, str(path), "truncated")


@pytest.mark.parametrize(
    "name,swap_to",
    [
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),  # labels where images belong
        ("t10k-labels-idx1-ubyte", "t10k-images-idx3-ubyte"),
    ])
def test_wrong_magic(tmp_path, no_env, name, swap_to):
  data = make_arrays()
  write_mnist(tmp_path, data, gz=True)
  path = tmp_path / (name + ".gz")
  with gzip.open(path, "wb") as f:
    f.write(raw_files(data)[swap_to])
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  assert_one_line_naming(excinfo, str(path), "magic", "delete", "re-download")


def test_wrong_image_size(tmp_path, no_env):
  write_mnist(tmp_path, make_arrays(), gz=False)
  path = tmp_path / "train-images-idx3-ubyte"
  _corrupt(path, idx_images_bytes(np.zeros((2, 14, 14), np.uint8)))
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  assert_one_line_naming(excinfo, str(path), "14x14")


def test_count_mismatch(tmp_path, no_env):
  write_mnist(tmp_path, make_arrays(), gz=False)
  path = tmp_path / "train-labels-idx1-ubyte"
  _corrupt(path, idx_labels_bytes(np.zeros(TRAIN_N + 1, np.uint8)))
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  assert_one_line_naming(excinfo, str(path), str(tmp_path / "train-images-idx3-ubyte"),
                         "re-download")


def test_label_out_of_range(tmp_path, no_env):
  write_mnist(tmp_path, make_arrays(), gz=False)
  path = tmp_path / "t10k-labels-idx1-ubyte"
  _corrupt(path, idx_labels_bytes(np.full(TEST_N, 200, np.uint8)))
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  assert_one_line_naming(excinfo, str(path), "200")


# --------------------------------------------------------------------------
# sha256 of files already on disk (full-size files only).

FULL_TEST_N = 10000  # the real t10k count: files with it are sha256-checked
T10K_IMAGES, T10K_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


def full_size_test_labels():
  """Raw IDX bytes of 10000 valid labels (not the real ones) and a copy with one byte changed."""
  good = idx_labels_bytes(np.arange(FULL_TEST_N) % 10)
  damaged = bytearray(good)
  damaged[8 + 1234] = (damaged[8 + 1234] + 1) % 10  # still a valid label, header untouched
  return good, bytes(damaged)


def write_full_test_split(directory, labels_raw, gz):
  """Small train split plus a full-size (10000) t10k split with the given labels bytes."""
  write_mnist(directory, make_arrays(), gz=gz, names={n for n in MNIST_FILES if "train" in n})
  for name, raw in ((T10K_IMAGES, idx_images_bytes(np.zeros((FULL_TEST_N, 28, 28), np.uint8))),
                    (T10K_LABELS, labels_raw)):
    path = os.path.join(directory, name + ".gz" if gz else name)
    with (gzip.open(path, "wb", compresslevel=1) if gz else open(path, "wb")) as f:
      f.write(raw)
  return os.path.join(directory, T10K_LABELS + ".gz" if gz else T10K_LABELS)


def test_full_counts_are_the_real_ones():
  assert MNIST_COUNTS == {
      "train-images-idx3-ubyte": 60000,
      "train-labels-idx1-ubyte": 60000,
      T10K_IMAGES: 10000,
      T10K_LABELS: 10000,
  }


@pytest.mark.parametrize("gz", [True, False])
def test_damaged_full_size_file_on_disk_is_named(tmp_path, no_env, gz):
  good, damaged = full_size_test_labels()
  # The digest of the *gunzipped* bytes: a .gz file checks against it as well.
  table = {T10K_LABELS: hashlib.sha256(good).hexdigest()}  # images absent: not checked

  path = write_full_test_split(tmp_path / "good", good, gz)
  loaded = load_mnist(str(tmp_path / "good"), download=False, sha256=table)
  np.testing.assert_array_equal(loaded.test_labels, np.arange(FULL_TEST_N) % 10)

  path = write_full_test_split(tmp_path / "bad", damaged, gz)
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path / "bad"), download=False, sha256=table)
  actual = hashlib.sha256(damaged).hexdigest()
  assert_one_line_naming(excinfo, str(path), "damaged", "sha256", table[T10K_LABELS][:12],
                         actual[:12], "delete", "re-download", "verify=False", "Fashion-MNIST")
  assert table[T10K_LABELS] not in str(excinfo.value)  # abbreviated, not 64 hex chars

  # verify=False: the same file loads, as it is.
  loaded = load_mnist(str(tmp_path / "bad"), download=False, sha256=table, verify=False)
  assert loaded.test_labels[1234] == (1234 % 10 + 1) % 10


def test_default_digests_refuse_full_size_lookalikes(tmp_path, no_env):
  """A 10000-example t10k split that is not real MNIST: named with the default table."""
  good, _ = full_size_test_labels()
  write_full_test_split(tmp_path, good, gz=True)
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  # The images file is read (and refused) first.
  assert_one_line_naming(excinfo, str(tmp_path / (T10K_IMAGES + ".gz")), "sha256",
                         MNIST_SHA256[T10K_IMAGES][:12], "verify=False")
  # Only on-disk files with a name in the table are checked.
  load_mnist(str(tmp_path), download=False, sha256={})
  loaded = load_mnist(str(tmp_path), download=False, verify=False)
  assert loaded.test_images.shape == (FULL_TEST_N, 28, 28)


def test_check_digest_only_for_full_counts(tmp_path):
  good, damaged = full_size_test_labels()
  digest = hashlib.sha256(good).hexdigest()
  path = str(tmp_path / T10K_LABELS)
  mnist_mod._check_digest(path, T10K_LABELS, good, FULL_TEST_N, digest)
  mnist_mod._check_digest(path, T10K_LABELS, good, FULL_TEST_N, digest.upper())
  mnist_mod._check_digest(path, T10K_LABELS, damaged, FULL_TEST_N, None)  # not in the table
  mnist_mod._check_digest(path, T10K_LABELS, damaged, FULL_TEST_N - 1, digest)  # a subset
  with pytest.raises(MnistError) as excinfo:
    mnist_mod._check_digest(path, T10K_LABELS, damaged, FULL_TEST_N, digest)
  assert_one_line_naming(excinfo, path, "sha256 mismatch")


def test_truncated_full_size_file_named_even_without_verify(tmp_path, no_env):
  good, _ = full_size_test_labels()
  path = write_full_test_split(tmp_path, good[:-1], gz=False)
  for verify in (True, False):
    with pytest.raises(MnistError) as excinfo:
      load_mnist(str(tmp_path), download=False, sha256={}, verify=verify)
    assert_one_line_naming(excinfo, str(path), "truncated", "10000 labels")


def test_synthetic_small_set_loads_with_verification(tmp_path, no_env):
  """Sets with other counts (what the test suite trains on) have no digest to match."""
  write_synthetic_mnist(str(tmp_path))
  data = load_mnist(str(tmp_path), download=False, verify=True)
  assert data.train_images.shape == (1024, 28, 28) and data.train_labels.shape == (1024,)
  assert data.test_images.shape == (256, 28, 28) and data.test_labels.shape == (256,)


# --------------------------------------------------------------------------
# Downloading (local server on 127.0.0.1 only).


def test_download_all(tmp_path, no_env, serve, capsys):
  data = make_arrays(6)
  write_mnist(tmp_path / "mirror", data, gz=True)
  url = serve(tmp_path / "mirror")
  target = tmp_path / "cache" / "mnist"  # does not exist yet
  loaded = load_mnist(str(target), mirrors=[url], sha256=sha_table(data))
  assert_same(loaded, data)
  assert sorted(os.listdir(target)) == sorted(n + ".gz" for n in MNIST_FILES)
  err = capsys.readouterr().err
  assert err.count("downloading") == 4
  # Now present: a second load must not need the network.
  assert_same(load_mnist(str(target), download=False), data)


def test_download_only_missing(tmp_path, no_env, serve):
  data = make_arrays(7)
  write_mnist(tmp_path / "mirror", data, gz=True)
  url = serve(tmp_path / "mirror")
  target = tmp_path / "target"
  write_mnist(target, data, gz=False, names={"train-images-idx3-ubyte"})
  load_mnist(str(target), mirrors=[url], sha256=sha_table(data))
  assert sorted(os.listdir(
      target)) == sorted(["train-images-idx3-ubyte"] +
                         [n + ".gz" for n in MNIST_FILES if n != "train-images-idx3-ubyte"])


def test_download_sha_mismatch_leaves_nothing(tmp_path, no_env, serve):
  served, expected = make_arrays(8), make_arrays(9)
  write_mnist(tmp_path / "mirror", served, gz=True)
  url = serve(tmp_path / "mirror")
  target = tmp_path / "target"
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(target), mirrors=[url], sha256=sha_table(expected))
  assert_one_line_naming(excinfo, "train-images-idx3-ubyte", url, "sha256")
  assert os.listdir(target) == []  # no bad file, no temp file


def test_download_checked_even_without_verify(tmp_path, no_env, serve):
  served, expected = make_arrays(8), make_arrays(9)
  write_mnist(tmp_path / "mirror", served, gz=True)
  url = serve(tmp_path / "mirror")
  target = tmp_path / "target"
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(target), mirrors=[url], sha256=sha_table(expected), verify=False)
  assert_one_line_naming(excinfo, "train-images-idx3-ubyte", url, "sha256")
  assert os.listdir(target) == []


def test_download_not_gzip_leaves_nothing(tmp_path, no_env, serve):
  (tmp_path / "mirror").mkdir()
  for name in MNIST_FILES:
    (tmp_path / "mirror" / (name + ".gz")).write_bytes(b"<html>not found</html>")
  url = serve(tmp_path / "mirror")
  target = tmp_path / "target"
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(target), mirrors=[url], sha256={})
  assert_one_line_naming(excinfo, "train-images-idx3-ubyte", "gzip")
  assert os.listdir(target) == []


def test_download_falls_back_to_next_mirror(tmp_path, no_env, serve):
  data, wrong = make_arrays(10), make_arrays(11)
  write_mnist(tmp_path / "good", data, gz=True)
  write_mnist(tmp_path / "bad", wrong, gz=True)
  (tmp_path / "empty").mkdir()
  mirrors = [
      closed_port_url(),
      serve(tmp_path / "empty"),  # refused, then 404
      serve(tmp_path / "bad"),
      serve(tmp_path / "good")
  ]  # wrong digest, then ok
  target = tmp_path / "target"
  assert_same(load_mnist(str(target), mirrors=mirrors, sha256=sha_table(data)), data)
  assert sorted(os.listdir(target)) == sorted(n + ".gz" for n in MNIST_FILES)


def test_all_mirrors_fail(tmp_path, no_env):
  mirrors = [closed_port_url(), closed_port_url()]
  target = tmp_path / "target"
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(target), mirrors=mirrors)
  assert_one_line_naming(excinfo, "train-images-idx3-ubyte", mirrors[0], mirrors[1], "last error")
  assert os.listdir(target) == []


def test_default_mirrors_and_table():
  assert mnist_mod.DEFAULT_MIRRORS[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
  assert len(mnist_mod.DEFAULT_MIRRORS) == 3
  assert MNIST_SHA256["train-images-idx3-ubyte"].startswith("ba891046")


# --------------------------------------------------------------------------
# Real MNIST, only through $MNIST_DIR.

_REAL_DIR = os.environ.get("MNIST_DIR", "")


@pytest.mark.skipif(not (_REAL_DIR and os.path.isdir(_REAL_DIR)),
                    reason="set MNIST_DIR to a directory holding real MNIST")
def test_real_mnist():
  directory = os.environ["MNIST_DIR"]
  data = load_mnist(download=False)  # found via MNIST_DIR alone
  assert data.train_images.shape == (60000, 28, 28)
  assert data.train_labels.shape == (60000,)
  assert data.test_images.shape == (10000, 28, 28)
  assert data.test_labels.shape == (10000,)
  assert data.train_images.dtype == np.uint8 and data.test_images.dtype == np.uint8
  assert data.train_labels.dtype == np.int64 and data.test_labels.dtype == np.int64
  for labels in (data.train_labels, data.test_labels):
    assert set(np.unique(labels)) == set(range(10))
  assert data.train_images.max() == 255

  for name in MNIST_FILES:
    path = os.path.join(directory, name + ".gz")
    if os.path.exists(path):
      with gzip.open(path, "rb") as f:
        raw = f.read()
    else:
      with open(os.path.join(directory, name), "rb") as f:
        raw = f.read()
    assert hashlib.sha256(raw).hexdigest() == MNIST_SHA256[name], name

  # Same arrays as python-mnist's own reader (test split only: it is slow).
  gz = os.path.exists(os.path.join(directory, "t10k-images-idx3-ubyte.gz"))
  images, labels = MNIST(directory, gz=gz, return_type="numpy").load_testing()
  np.testing.assert_array_equal(data.test_images.reshape(10000, -1), images)
  np.testing.assert_array_equal(data.test_labels, labels)


@pytest.mark.skipif(not (_REAL_DIR and os.path.isdir(_REAL_DIR)),
                    reason="set MNIST_DIR to a directory holding real MNIST")
def test_real_mnist_verified_and_one_changed_byte_named(tmp_path, no_env):
  directory = _REAL_DIR
  data = load_mnist(directory, download=False, verify=True)  # real files pass the check
  assert data.test_labels.shape == (10000,)

  # A copy with one label changed (still a valid IDX file and label) is refused.
  for name in MNIST_FILES:
    src = os.path.join(directory, name + ".gz")
    if not os.path.exists(src):
      src = os.path.join(directory, name)
    if name != T10K_LABELS:
      os.symlink(src, tmp_path / os.path.basename(src))
      continue
    opener = gzip.open if src.endswith(".gz") else open
    with opener(src, "rb") as f:
      raw = bytearray(f.read())
    raw[8 + 17] = (raw[8 + 17] + 1) % 10
    with gzip.open(tmp_path / (T10K_LABELS + ".gz"), "wb") as f:
      f.write(bytes(raw))
  path = tmp_path / (T10K_LABELS + ".gz")
  with pytest.raises(MnistError) as excinfo:
    load_mnist(str(tmp_path), download=False)
  assert_one_line_naming(excinfo, str(path), "damaged", "sha256", MNIST_SHA256[T10K_LABELS][:12],
                         "re-download", "verify=False")
  loaded = load_mnist(str(tmp_path), download=False, verify=False)
  assert loaded.test_labels[17] == (data.test_labels[17] + 1) % 10


def test_directory_in_place_of_a_file_is_named(tmp_path):
  from common.data.mnist import MnistError, load_mnist
  from mnist_testing import write_synthetic_mnist
  write_synthetic_mnist(str(tmp_path))
  os.remove(tmp_path / 't10k-labels-idx1-ubyte.gz')
  (tmp_path / 't10k-labels-idx1-ubyte.gz').mkdir()
  with pytest.raises(MnistError) as error:
    load_mnist(str(tmp_path), download=False)
  assert 'is not a file' in str(error.value) and 't10k-labels-idx1-ubyte.gz' in str(error.value)
