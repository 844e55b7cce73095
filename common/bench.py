"""Shared pieces of the benchmarks: JSON lines, medians of timed calls, this
machine's measured peak, FLOPs by TensorFlow's profiler, peak RSS.

Import TensorFlow-dependent helpers only after the process has set its threads
(they take the `tensorflow` module or a traced function as an argument).
"""
import json
import resource
import statistics
import time


def emit(record):
  """Prints one JSON line (flushed, so a parent process reads it at once)."""
  print(json.dumps(record), flush=True)


def median_seconds(function, repeats=5):
  """The median wall time of `repeats` calls of `function()`, after one warm-up call."""
  function()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    function()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def measured_peak(tf, matmul_size=2048):
  """GFLOP/s of a large float32 matmul and of a large 3x3 SAME convolution
  (`[16, 64, 64, 64] -> 64`, the multigrid steps' own kind of op), compiled as
  graphs, on the threads this process runs with: {'matmul': .., 'conv': ..}."""
  size = matmul_size
  a = tf.random.stateless_normal([size, size], seed=[0, 1])
  matmul = tf.function(lambda: tf.matmul(a, a))
  images = tf.random.stateless_normal([16, 64, 64, 64], seed=[0, 2])
  kernel = tf.random.stateless_normal([3, 3, 64, 64], seed=[0, 3])
  conv = tf.function(lambda: tf.nn.conv2d(images, kernel, 1, 'SAME'))
  peaks = {'matmul': 2 * size ** 3 / median_seconds(lambda: matmul().numpy()),
           'conv': 2 * 16 * 64 * 64 * 9 * 64 * 64 / median_seconds(lambda: conv().numpy())}
  return {name: round(value / 1e9, 1) for name, value in peaks.items()}


def profiled_flops(concrete_function, dense_only=True):
  """FLOPs of a traced function's graph by TensorFlow's profiler (its per-op
  registry, shapes from the graph); `dense_only`: convolutions (forward and both
  backward ops) and matmuls only."""
  import tensorflow as tf
  builder = tf.compat.v1.profiler.ProfileOptionBuilder
  options = builder(builder.float_operation()).with_empty_output().build()
  if dense_only:
    options['account_type_regexes'] = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter',
                                       'MatMul']
  return int(tf.compat.v1.profiler.profile(graph=concrete_function.graph,
                                           options=options).total_float_ops)


def peak_rss_mb():
  """This process's peak resident set size in MB (Linux reports KiB)."""
  return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def check_choices(name, values, allowed):
  """Raises SystemExit with a one-line error unless every value is allowed."""
  bad = [v for v in values if v not in allowed]
  if bad or not values:
    raise SystemExit(f'error: --{name}={",".join(values)}: choose from {", ".join(allowed)}')


def check_threads(values):
  for threads in values:
    if not threads.isdigit() or int(threads) > 256:
      raise SystemExit(f'error: --threads={threads}: use integers 0..256 (0: the default)')
