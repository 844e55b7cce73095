"""Starting TensorFlow for a run: quiet, seeded, deterministic, thread-limited.

`start_tensorflow` is what a `main.py` calls once its flags are parsed. On a
machine without a GPU, TensorFlow prints CUDA initialisation errors (`failed
call to cuInit`), notes about its CPU build and oneDNN, and absl's "All log
messages before absl::InitializeLog()" at import and at its first op, in the
middle of a run's banner. Those lines are known not to matter; they are
dropped, and anything else TensorFlow writes while starting is passed on.
"""
import os
import re
import sys
import tempfile

# Start-up lines that say nothing a user can act on (all seen on CPU-only machines).
STARTUP_NOISE = re.compile('|'.join([
    r'All log messages before absl::InitializeLog\(\) is called are written to STDERR',
    r'Could not find cuda drivers on your machine',
    r'failed call to cuInit',
    r'oneDNN custom operations are on',
    r'This TensorFlow binary is optimized to use available CPU instructions',
    r'To enable the following instructions: .* rebuild TensorFlow',
    r'Unable to register cu(DNN|FFT|BLAS) factory',
    r'computation_placer\.cc.*already registered',
    r'TF-TRT Warning',
    r'cuda_executor\.cc|cuda_diagnostics\.cc|cuda_platform\.cc|cudart_stub\.cc',
]))


def _replay(captured, stream):
  for line in captured.splitlines():
    if line.strip() and not STARTUP_NOISE.search(line):
      print(line, file=stream)
  stream.flush()


def quiet_startup(function, *args, **kwargs):
  """Calls `function` with file descriptor 2 (C++ and Python stderr) captured,
  then writes back what it printed except the known start-up noise."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as capture:
    os.dup2(capture.fileno(), 2)
    try:
      return function(*args, **kwargs)
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      capture.seek(0)
      _replay(capture.read().decode(errors='replace'), sys.stderr)


def _start(threads, seed, deterministic, onednn, inter_op_threads, cpu_devices=0, strategy=None):
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # info lines off; errors still shown
  if not onednn:
    os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')
  import tensorflow as tf
  from common import config, seeding
  config.set_intra_op_threads(threads)
  if inter_op_threads:
    try:
      tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)
    except RuntimeError:  # TF already initialised: the first setting stays
      pass
  if cpu_devices:
    split_cpu(tf, cpu_devices)
  if strategy and strategy != 'none':   # before the first op (multi-worker needs that)
    from common import distribute
    distribute.make_strategy(strategy)
  if seed is not None:
    seeding.seed_everything(seed, deterministic)
  tf.zeros([]).numpy()  # the first op initialises the devices (and prints the CUDA noise)
  return tf


def split_cpu(tf, count):
  """Splits the CPU into `count` logical devices (before TensorFlow's first op), so
  that a mirrored strategy has replicas on a machine without GPUs. Returns False
  when TensorFlow had started already (the first setting stays)."""
  cpus = tf.config.list_physical_devices('CPU')
  try:
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
  except RuntimeError:
    return False
  return True


def start_tensorflow(threads=0, seed=None, deterministic=True, onednn=False, inter_op_threads=0,
                     cpu_devices=0, strategy=None):
  """Imports TensorFlow with its start-up noise filtered out, limits its intra-op
  threads (0: TensorFlow's default) and inter-op threads (0: the default; 1 runs
  a graph's ops one at a time, which a sequential model loses nothing by and
  which made 1-ulp differences between repeated dnd_lstm runs go away), splits the
  CPU into `cpu_devices` logical devices when asked (`split_cpu`), makes the
  `tf.distribute` strategy named `strategy` (`common.distribute`), seeds
  every RNG (`common.seeding`) and turns on op determinism. `onednn=False` sets TF_ENABLE_ONEDNN_OPTS=0 unless the
  environment says otherwise (Eigen's kernels are faster for these small ops).
  Returns the `tensorflow` module."""
  return quiet_startup(_start, threads, seed, deterministic, onednn, inter_op_threads,
                       cpu_devices, strategy)
