"""Speed of the multigrid mapping & localization port: JSON lines.

  python benchmark.py --modes=graph            # the speed suite, graph only (about 4 min here)
  python benchmark.py                          # graph and XLA (XLA compiles for minutes)
  python benchmark.py --suites=mirrored        # one device vs two logical CPU devices
  python benchmark.py --threads=1 --modes=graph,xla --onednn=off,on --repeats=3

Suite `speed`: updates/s and time steps/s of the full model's training on
LOCAL_T_MAX-step chunks of BATCH_SIZE mazes (the Trainer's own compiled step on
chunks of real episodes, the drawing of each chunk and the state carried between
chunks included), with one intra-op thread and TensorFlow's default, graph vs
XLA, oneDNN on (the default) or off, each setting in a fresh process: the first
call's time (tracing and compiling), the median of --blocks blocks of --updates
updates, peak RSS; the FLOPs of one update (convolutions, counted from the layer
shapes: the writer's 23 cells at every step, the reader's 42 grids on every
query; the update as 3x forward) checked against TensorFlow's profiler on the
traced graphs; and the fraction of this machine's peak (a 2048^3 matmul and a
large 3x3 convolution timed in the same process with the same threads) reached.

Suite `mirrored`: the same step under DISTRIBUTE='mirrored' over two logical CPU
devices (CPU_DEVICES=2; the global batch split in two) against one device, both
at TensorFlow's default threads, in fresh processes.

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
SUITES = ('speed', 'mirrored')
flags.DEFINE_list('suites', ['speed'], 'suites to run: speed, mirrored')
flags.DEFINE_list('threads', ['1', '0'], 'intra-op threads to time (0: TensorFlow default)')
flags.DEFINE_list('modes', ['graph', 'xla'], 'compile modes to time: graph, xla')
flags.DEFINE_list('onednn', ['on'], 'TF_ENABLE_ONEDNN_OPTS settings to time: off, on')
flags.DEFINE_integer('repeats', 1, 'fresh processes per setting (alternated); medians quoted',
                     lower_bound=1)
flags.DEFINE_integer('blocks', 3, 'timed blocks per process (the median block is quoted)',
                     lower_bound=1)
flags.DEFINE_integer('updates', 2, 'updates per timed block', lower_bound=1)
flags.DEFINE_integer('batch_size', 32, 'BATCH_SIZE of the timed model', lower_bound=1)
flags.DEFINE_integer('local_t_max', 20, 'LOCAL_T_MAX of the timed model', lower_bound=1)
flags.DEFINE_integer('map_size', 25, 'MAP_SIZE of the timed episodes', lower_bound=5)
flags.DEFINE_integer('peak_size', 2048, 'side of the square matmul that measures the peak',
                     lower_bound=64)
flags.DEFINE_string('worker', '', 'internal: run one measurement in this process')


def forward_flops(model, batch_size, steps):
  """FLOPs of one forward pass of `LocalizationModel` on a chunk in its convolutions
  (2 per multiply-add), from the layer shapes. Returns {'writer', 'reader', 'total'}."""
  from multigrid_memory.mapping_localization.model import READER, SIZES
  rows = steps * batch_size
  writer = sum(2 * rows * SIZES[level] ** 2 * int(cell[0].shape.num_elements())
               for cells in model.writer for level, cell in enumerate(cells))
  reader, sizes = 0, SIZES[:1]                    # the query: one 3 x 3 grid
  for label, grids, _, reverse in READER:
    # A reverse layer keeps the finest `grids` sizes of its input; the others the coarsest.
    sizes = sizes[len(sizes) - grids:] if reverse else SIZES[:grids]
    reader += sum(2 * rows * size ** 2 * int(conv[0].shape.num_elements())
                  for size, conv in zip(sizes, model.reader[label]))
  return {'writer': writer, 'reader': reader, 'total': writer + reader}


def build_trainer(directory, threads, mode, strategy='none'):
  import logging
  from common import config, runtime
  from multigrid_memory.mapping_localization import constants
  size = FLAGS.map_size
  args = config.parse(constants, [
      'benchmark', f'--checkpoint_dir={directory}', f'--intra_op_threads={threads}',
      f'--batch_size={FLAGS.batch_size}', f'--local_t_max={FLAGS.local_t_max}',
      f'--map_size={size}', f'--generic_map_size={2 * size}', f'--jit_compile={mode == "xla"}',
      '--eval_batch_size=0', f'--distribute={strategy}',
      f'--cpu_devices={2 if strategy == "mirrored" else 0}'])
  tf = runtime.start_tensorflow(args.INTRA_OP_THREADS, args.SEED,
                                onednn=os.environ.get('TF_ENABLE_ONEDNN_OPTS') == '1',
                                cpu_devices=args.CPU_DEVICES, strategy=args.DISTRIBUTE)
  from common.logs import setup_logger
  from multigrid_memory.mapping_localization.trainer import Trainer
  logger = setup_logger(os.path.join(directory, 'log.txt'), level=logging.WARNING)
  trainer = Trainer(args, logger, config.as_dict(args, constants.ARCHITECTURE_KEYS),
                    config.as_dict(args))
  return tf, trainer


def speed_worker(mode, threads, strategy='none'):
  from common import distribute
  with tempfile.TemporaryDirectory() as directory:
    tf, trainer = build_trainer(directory, threads, mode, strategy)
    from common.optim import linear_decay
    args = trainer.args
    lr = linear_decay(0, args.INITIAL_ALPHA, args.END_ALPHA, args.END_DECAY_TIME)

    def update():
      chunk = trainer.stream.next_chunk()
      while len(chunk.query_indices) != args.LOCAL_T_MAX:   # time full-length chunks only
        chunk = trainer.stream.next_chunk()
      if chunk.first:
        trainer.state = trainer._zero_state()
      loss, trainer.state = trainer.train_step(*trainer._tensors(chunk), lr, trainer.state)
      return float(loss)

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
    flops = forward_flops(trainer.model, args.BATCH_SIZE, args.LOCAL_T_MAX)
    update_flops = 3 * flops['total']
    peak = measured_peak(tf, FLAGS.peak_size)
    achieved = update_flops / seconds / 1e9
    record = {
        'suite': 'speed' if strategy == 'none' else strategy, 'compile': mode,
        'distribute': strategy, 'replicas': distribute.replicas(trainer.strategy),
        'intra_op_threads': threads or 'default',
        'onednn': os.environ.get('TF_ENABLE_ONEDNN_OPTS') == '1',
        'batch_size': args.BATCH_SIZE, 'local_t_max': args.LOCAL_T_MAX,
        'map_size': args.MAP_SIZE, 'first_call_s': round(first_call, 2),
        'update_s': round(seconds, 3), 'update_s_blocks': [round(b, 3) for b in blocks],
        'updates_per_s': round(1 / seconds, 4),
        'time_steps_per_s': round(args.LOCAL_T_MAX / seconds, 2), 'loss_last': round(loss, 1),
        'update_gflop': round(update_flops / 1e9, 2),
        'forward_gflop_by_part': {k: round(v / 1e9, 3) for k, v in flops.items()},
        'achieved_gflops': round(achieved, 2), 'peak_gflops': peak,
        'fraction_of_peak': round(achieved / max(peak.values()), 3)}
    if mode == 'graph' and strategy == 'none':
      chunk = trainer.stream.next_chunk()
      while len(chunk.query_indices) != args.LOCAL_T_MAX:
        chunk = trainer.stream.next_chunk()
      tensors = trainer._tensors(chunk)
      step = trainer.train_step.get_concrete_function(*tensors, lr, trainer.state)
      forward = tf.function(trainer.model.__call__).get_concrete_function(
          tensors[0], tensors[1], trainer.state)
      record.update({'forward_flops': flops['total'], 'update_flops': update_flops,
                     'profiler_forward_flops': profiled_flops(forward),
                     'profiler_update_flops': profiled_flops(step)})
    record['peak_rss_mb'] = peak_rss_mb()
    emit(record)


def run_worker(mode, threads, onednn, strategy='none'):
  env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS='1' if onednn == 'on' else '0')
  command = [sys.executable, os.path.abspath(__file__), f'--worker={mode}:{threads}:{strategy}',
             f'--blocks={FLAGS.blocks}', f'--updates={FLAGS.updates}',
             f'--batch_size={FLAGS.batch_size}', f'--local_t_max={FLAGS.local_t_max}',
             f'--map_size={FLAGS.map_size}', f'--peak_size={FLAGS.peak_size}']
  start = time.perf_counter()
  done = subprocess.run(command, env=env, capture_output=True, text=True)
  if done.returncode:
    raise SystemExit(f'error: the {mode}/{threads} threads/oneDNN {onednn}/{strategy} worker '
                     f'failed: {done.stderr.strip().splitlines()[-1:]}')
  record = json.loads([line for line in done.stdout.splitlines() if line.startswith('{')][-1])
  record['process_wall_s'] = round(time.perf_counter() - start, 1)
  emit(record)
  return record


def speed():
  summarise('speed', [(mode, threads, onednn, 'none') for threads in FLAGS.threads
                      for mode in FLAGS.modes for onednn in FLAGS.onednn])


def mirrored():
  summarise('mirrored', [('graph', '0', FLAGS.onednn[-1], strategy)
                         for strategy in ('none', 'mirrored')])


def summarise(suite, settings):
  runs = {}
  for _ in range(FLAGS.repeats):
    for setting in settings:
      runs.setdefault(setting, []).append(run_worker(*setting))
  for (mode, threads, onednn, strategy), records in runs.items():
    median = lambda key: statistics.median(r[key] for r in records)
    emit({'suite': suite, 'summary': True, 'compile': mode, 'distribute': strategy,
          'intra_op_threads': int(threads) or 'default', 'onednn': onednn == 'on',
          'runs': len(records), 'median_update_s': round(median('update_s'), 3),
          'median_time_steps_per_s': round(FLAGS.local_t_max / median('update_s'), 2),
          'median_first_call_s': round(median('first_call_s'), 1),
          'median_fraction_of_peak': round(median('fraction_of_peak'), 3),
          'update_gflop': records[0]['update_gflop'],
          'peak_rss_mb': max(r['peak_rss_mb'] for r in records)})


def main(argv):
  del argv
  if FLAGS.worker:
    mode, threads, strategy = FLAGS.worker.split(':')
    speed_worker(mode, int(threads), strategy)
    return
  check_choices('suites', FLAGS.suites, SUITES)
  check_choices('modes', FLAGS.modes, ('graph', 'xla'))
  check_choices('onednn', FLAGS.onednn, ('off', 'on'))
  check_threads(FLAGS.threads)
  if FLAGS.map_size % 2 == 0:
    raise SystemExit(f'error: --map_size={FLAGS.map_size}: use an odd size')
  for suite in SUITES:
    if suite in FLAGS.suites:
      globals()[suite]()


if __name__ == '__main__':
  app.run(main)
