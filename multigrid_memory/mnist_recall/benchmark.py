"""Speed of the multigrid MNIST recall port: JSON lines (about 6 min here by default).

  python benchmark.py                         # both suites below
  python benchmark.py --suites=speed --threads=1 --modes=graph --onednn=off,on
  python benchmark.py --repeats=3             # three fresh processes per setting, alternated

Suites:
  speed  updates/s and time steps/s of the default training (batch 32, T = 10: the
         Trainer's own compiled step on real MNIST batches, drawing included), with
         one intra-op thread and TensorFlow's default, graph vs XLA, oneDNN off (the
         house default) and on, each setting in a fresh process: the first call's time
         (compilation), the median of --blocks blocks of --updates updates, peak RSS;
         the FLOPs of one update (convolutions and matmuls, counted from the layer
         shapes: forward, and the update as 3x forward) checked against TensorFlow's
         profiler on the compiled step's graph; and the fraction of this machine's
         peak (a 2048^3 matmul and a large 3x3 convolution, timed in the same process
         with the same threads) that the update reaches.
  loop   the writer's loop over time: static unroll (what the model uses) vs one
         tf.while_loop per cell, graph, one thread: trace + compile time and update time.

The original (TF 1.15, Python 2.7) cannot run here, so the FLOP bound is the anchor.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

from common.bench import check_choices, check_threads, emit, measured_peak, peak_rss_mb, \
    profiled_flops

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

FLAGS = flags.FLAGS
SUITES = ('speed', 'loop')
flags.DEFINE_list('suites', list(SUITES), 'suites to run: speed, loop')
flags.DEFINE_list('threads', ['1', '0'], 'intra-op threads to time (0: TensorFlow default)')
flags.DEFINE_list('modes', ['graph', 'xla'], 'compile modes to time: graph, xla')
flags.DEFINE_list('onednn', ['off', 'on'], 'TF_ENABLE_ONEDNN_OPTS settings to time: off, on')
flags.DEFINE_integer('repeats', 1, 'fresh processes per setting (alternated); medians quoted',
                     lower_bound=1)
flags.DEFINE_integer('blocks', 5, 'timed blocks per process (the median block is quoted)',
                     lower_bound=1)
flags.DEFINE_integer('updates', 5, 'updates per timed block', lower_bound=1)
flags.DEFINE_integer('batch_size', 32, 'BATCH_SIZE of the timed model', lower_bound=1)
flags.DEFINE_integer('local_t_max', 10, 'LOCAL_T_MAX of the timed model', lower_bound=2)
flags.DEFINE_integer('peak_size', 2048, 'side of the square matmul that measures the peak',
                     lower_bound=64)
flags.DEFINE_string('worker', '', 'internal: run one measurement in this process')


# -- FLOPs ----------------------------------------------------------------------------------
def forward_flops(model):
  """FLOPs of one forward pass of `MNISTRecallModel` in its convolutions and matmuls
  (2 per multiply-add), from the layer shapes: every writer cell's 3x3 conv over
  [input, h] to 4C gates at each of T steps, every reader grid's 3x3 conv, the FC.
  Elementwise work (gates, batch norm, resampling) is left out: it is a few
  percent (see `profiled_flops`) and bound by memory, not arithmetic.
  Returns {'writer': .., 'reader': .., 'fc': .., 'total': ..}."""
  from multigrid_memory.mnist_recall.model import SIZES
  b, t = model.batch_size, model.seq_len
  conv = lambda kernel, side, count: 2 * count * side * side * int(kernel.shape.num_elements())
  writer = sum(conv(cell[0], SIZES[level], t * b)
               for cells in model.writer for level, cell in enumerate(cells))
  reader = sum(conv(params[0], SIZES[level], b)
               for convs in model.reader.values() for level, params in enumerate(convs))
  fc = 2 * b * int(model.fc_kernel.shape.num_elements())
  return {'writer': writer, 'reader': reader, 'fc': fc, 'total': writer + reader + fc}


# -- one process: one setting ---------------------------------------------------------------
def build_trainer(directory, threads, mode, loop):
  """The Trainer of `main.py` with the benchmark's sizes, in `directory`."""
  import logging
  from common import config, runtime
  from multigrid_memory.mnist_recall import constants
  args = config.parse(constants, [
      'benchmark', f'--checkpoint_dir={directory}', f'--intra_op_threads={threads}',
      f'--batch_size={FLAGS.batch_size}', f'--local_t_max={FLAGS.local_t_max}',
      f'--jit_compile={mode == "xla"}'])
  tf = runtime.start_tensorflow(args.INTRA_OP_THREADS, args.SEED,
                                onednn=os.environ.get('TF_ENABLE_ONEDNN_OPTS') == '1')
  from common.logs import setup_logger
  from multigrid_memory.mnist_recall.trainer import Trainer
  logger = setup_logger(os.path.join(directory, 'log.txt'), level=logging.WARNING)
  trainer = Trainer(args, logger, config.as_dict(args, constants.ARCHITECTURE_KEYS),
                    config.as_dict(args))
  trainer.model.loop = loop   # read when the step is traced, at its first call
  return tf, trainer


def speed_worker(suite, mode, threads, loop):
  """One setting in this process; emits one JSON line."""
  with tempfile.TemporaryDirectory() as directory:
    tf, trainer = build_trainer(directory, threads, mode, loop)
    from common.optim import linear_decay
    args = trainer.args

    def update():
      batch = trainer.train_data.next_batch()   # drawing included, as in fit()
      lr = linear_decay(0, args.INITIAL_ALPHA, args.END_ALPHA, args.END_DECAY_TIME)
      return float(trainer.train_step(*trainer._tensors(batch), lr))

    start = time.perf_counter()
    update()
    first_call = time.perf_counter() - start
    blocks = []
    for _ in range(FLAGS.blocks):
      start = time.perf_counter()
      for _ in range(FLAGS.updates):
        loss = update()
      blocks.append((time.perf_counter() - start) / FLAGS.updates)
    seconds = statistics.median(blocks)
    flops = forward_flops(trainer.model)
    update_flops = 3 * flops['total']   # backward: input and weight gradients, each ~ forward
    record = {
        'suite': suite, 'compile': mode, 'loop': loop,
        'intra_op_threads': threads or 'default',
        'onednn': os.environ.get('TF_ENABLE_ONEDNN_OPTS') == '1',
        'batch_size': args.BATCH_SIZE, 'local_t_max': args.LOCAL_T_MAX,
        'first_call_s': round(first_call, 2), 'update_s': round(seconds, 4),
        'update_s_blocks': [round(b, 4) for b in blocks],
        'updates_per_s': round(1 / seconds, 3),
        'time_steps_per_s': round(args.LOCAL_T_MAX / seconds, 1),
        'loss_last': round(loss, 3)}
    if suite == 'speed':
      peak = measured_peak(tf, FLAGS.peak_size)
      achieved = update_flops / seconds / 1e9
      record.update({
          'update_gflop': round(update_flops / 1e9, 3),
          'forward_gflop_by_part': {k: round(v / 1e9, 4) for k, v in flops.items()},
          'achieved_gflops': round(achieved, 2),
          'peak_gflops': peak,
          'fraction_of_peak': round(achieved / max(peak.values()), 3)})
      if mode == 'graph':   # the profiler reads the traced graphs (XLA's are the same)
        images, query, target = trainer._tensors(trainer.train_data.next_batch())
        step = trainer.train_step.get_concrete_function(images, query, target,
                                                        tf.constant(0.001))
        forward = tf.function(trainer.model.__call__).get_concrete_function(images, query)
        record.update({'forward_flops': flops['total'], 'update_flops': update_flops,
                       'profiler_forward_flops': profiled_flops(forward),
                       'profiler_update_flops': profiled_flops(step)})
    record['peak_rss_mb'] = peak_rss_mb()
    emit(record)


# -- the parent: fresh processes, alternated ------------------------------------------------
def run_worker(suite, mode, threads, onednn, loop):
  env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS='1' if onednn == 'on' else '0')
  command = [sys.executable, os.path.abspath(__file__), f'--worker={suite}:{mode}:{threads}:{loop}',
             f'--blocks={FLAGS.blocks}', f'--updates={FLAGS.updates}',
             f'--batch_size={FLAGS.batch_size}', f'--local_t_max={FLAGS.local_t_max}',
             f'--peak_size={FLAGS.peak_size}']
  start = time.perf_counter()
  done = subprocess.run(command, env=env, capture_output=True, text=True)
  if done.returncode:
    raise SystemExit(f'error: the {mode}/{threads} threads/oneDNN {onednn}/{loop} worker '
                     f'failed: {done.stderr.strip().splitlines()[-1:]}')
  record = json.loads([line for line in done.stdout.splitlines() if line.startswith('{')][-1])
  record['process_wall_s'] = round(time.perf_counter() - start, 1)
  emit(record)
  return record


def summarise(suite, runs_by_setting):
  for (mode, threads, onednn, loop), runs in runs_by_setting.items():
    median = lambda key: statistics.median(r[key] for r in runs)
    summary = {'suite': suite, 'summary': True, 'compile': mode, 'loop': loop,
               'intra_op_threads': int(threads) or 'default', 'onednn': onednn == 'on',
               'runs': len(runs), 'median_update_s': round(median('update_s'), 4),
               'median_updates_per_s': round(1 / median('update_s'), 3),
               'median_time_steps_per_s': round(runs[0]['local_t_max'] / median('update_s'), 1),
               'median_first_call_s': round(median('first_call_s'), 2),
               'peak_rss_mb': max(r['peak_rss_mb'] for r in runs)}
    if 'fraction_of_peak' in runs[0]:
      summary['median_fraction_of_peak'] = round(median('fraction_of_peak'), 3)
      summary['update_gflop'] = runs[0]['update_gflop']
    emit(summary)


def speed():
  settings = [(mode, threads, onednn, 'unroll') for threads in FLAGS.threads
              for mode in FLAGS.modes for onednn in FLAGS.onednn]
  runs = {}
  for _ in range(FLAGS.repeats):
    for setting in settings:
      runs.setdefault(setting, []).append(run_worker('speed', *setting))
  summarise('speed', runs)


def loop():
  runs = {}
  for _ in range(FLAGS.repeats):
    for setting in (('graph', '1', 'off', 'unroll'), ('graph', '1', 'off', 'while')):
      runs.setdefault(setting, []).append(run_worker('loop', *setting))
  summarise('loop', runs)


def main(argv):
  del argv
  if FLAGS.worker:
    suite, mode, threads, loop_ = FLAGS.worker.split(':')
    speed_worker(suite, mode, int(threads), loop_)
    return
  check_choices('suites', FLAGS.suites, SUITES)
  check_choices('modes', FLAGS.modes, ('graph', 'xla'))
  check_choices('onednn', FLAGS.onednn, ('off', 'on'))
  check_threads(FLAGS.threads)
  for suite in SUITES:
    if suite in FLAGS.suites:
      globals()[suite]()


if __name__ == '__main__':
  app.run(main)
