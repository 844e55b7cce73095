"""Test-session setup: quiet TensorFlow logging and deterministic CPU math.

These must be set before TensorFlow is first imported.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# One op at a time, as dnd_lstm's runs (INTER_OP_THREADS = 1): the tests that
# compare two runs in one process bit for bit need the runs' own setting, and
# TensorFlow takes only the first one a process sets.
tf.config.threading.set_inter_op_parallelism_threads(1)

from mnist_testing import write_synthetic_mnist  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def mnist_dir(tmp_path_factory):
  """The MNIST folder the end-to-end runs read: $MNIST_DIR (real MNIST, as .ci/run sets it)
  or, when that is not set, small synthetic IDX files, so that no test needs the network."""
  real = os.environ.get("MNIST_DIR", "")
  if real and os.path.isdir(real):
    yield real
    return
  synthetic = write_synthetic_mnist(str(tmp_path_factory.mktemp("synthetic_mnist")))
  os.environ["MNIST_DIR"] = synthetic
  yield synthetic
  os.environ.pop("MNIST_DIR", None)
