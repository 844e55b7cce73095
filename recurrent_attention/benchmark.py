"""Speed of the RAM experiments: one JSON line per (experiment, threads, XLA) setting.

  python benchmark.py                      # all four experiments, 1 thread and TF's default, XLA off/on
  python benchmark.py --only=centered --threads=1 --jit=0 --repeats=7

Each setting runs in a fresh process (TensorFlow's thread count is fixed at
start-up, and peak RSS is per process). Training throughput includes the data
pipeline (canvases are drawn per batch, as in training); evaluation is one
stochastic pass. Figures are medians over `--repeats` timed blocks after one
warm-up block. Needs MNIST (`--mnist_dir` or MNIST_DIR) for the classification
experiments.

Reference (issue 3): kevinzakka's PyTorch RAM trains centered MNIST (6
glimpses, 8x8, batch 128) at about 2,300 images/s with one thread and 3,200
with two on this machine class.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

EXPERIMENTS = {  # the settings: centered with 6 glimpses, the others at their defaults
    'centered': ['--experiment=centered', '--num_glimpses=6'],
    'translated': ['--experiment=translated', '--num_glimpses=4'],
    'cluttered': ['--experiment=cluttered', '--num_glimpses=4'],
    'catch': ['--experiment=catch'],
}


def _median(values):
  values = sorted(values)
  middle = len(values) // 2
  return values[middle] if len(values) % 2 else 0.5 * (values[middle - 1] + values[middle])


def worker(name, threads, jit, repeats, block_steps, mnist_dir):
  """Measures one setting in this process and returns its JSON record."""
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')
  import logging
  from common import config, runtime, seeding
  from common.data import canvases
  from recurrent_attention import agent, constants

  runtime.start_tensorflow(threads)  # quiet start-up, then the thread setting
  directory = tempfile.mkdtemp(prefix='ra_bench_')
  flags = ['benchmark', *EXPERIMENTS[name], f'--checkpoint_dir={directory}',
           f'--jit_compile={str(jit).lower()}', f'--intra_op_threads={threads}']
  if mnist_dir and name != 'catch':  # Catch reads no MNIST
    flags.append(f'--mnist_dir={mnist_dir}')
  args = config.parse(constants, flags)
  logger = logging.getLogger('benchmark')
  logger.addHandler(logging.NullHandler())
  logger.propagate = False
  seeding.seed_everything(args.SEED)  # as main.py
  runner_class = agent.CatchAgent if name == 'catch' else agent.ClassificationAgent
  runner = runner_class(args, logger, config.as_dict(args, constants.ARCHITECTURE_KEYS))

  def train_block():
    if name == 'catch':
      for _ in range(block_steps):
        losses = runner.train_step()
      float(losses.total)
      return block_steps * args.BATCH_SIZE
    count = 0
    batches = runner.train_data.epoch(args.BATCH_SIZE, args.SEED, canvases.TRAIN_STREAM, 1, True)
    for _, (images, labels) in zip(range(block_steps), batches):
      losses = runner.train_step(images, labels)
      count += len(labels)
    float(losses.total)
    return count

  def eval_block():
    if name == 'catch':
      for _ in range(block_steps):
        caught = runner.play_step()
      float(caught)
      return block_steps * args.BATCH_SIZE
    count = 0
    batches = runner.test_data.epoch(args.BATCH_SIZE, args.SEED, canvases.TEST_STREAM, 1, False)
    for _, (images, labels) in zip(range(block_steps), batches):
      losses, _ = runner.eval_step(images, labels)
      count += len(labels)
    float(losses.total)
    return count

  def rate(block):
    start = time.perf_counter()
    block()  # warm-up (and compilation)
    compile_s = time.perf_counter() - start
    rates = []
    for _ in range(repeats):
      start = time.perf_counter()
      count = block()
      rates.append(count / (time.perf_counter() - start))
    return _median(rates), compile_s

  train_rate, train_warmup = rate(train_block)
  eval_rate, _ = rate(eval_block)
  unit = 'episodes' if name == 'catch' else 'images'
  return {
      'experiment': name, 'flags': EXPERIMENTS[name][1:], 'threads': threads or 'default',
      'jit_compile': jit, 'batch_size': args.BATCH_SIZE, 'glimpses': args.NUM_GLIMPSES,
      f'train_{unit}_per_sec': round(train_rate, 1), f'eval_{unit}_per_sec': round(eval_rate, 1),
      'train_steps_per_sec': round(train_rate / args.BATCH_SIZE, 2),
      'first_block_s': round(train_warmup, 2), 'repeats': repeats,
      'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
  }


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--only', default='', help='comma-separated experiments (default: all)')
  parser.add_argument('--threads', default='1,0', help='intra-op threads to try; 0 = default')
  parser.add_argument('--jit', default='0,1', help='XLA settings to try (0, 1)')
  parser.add_argument('--repeats', type=int, default=5, help='timed blocks per figure')
  parser.add_argument('--block_steps', type=int, default=30, help='batches per timed block')
  parser.add_argument('--mnist_dir', default='', help='MNIST directory (default: $MNIST_DIR)')
  parser.add_argument('--worker', default='', help=argparse.SUPPRESS)
  opts = parser.parse_args(argv)
  names = [n for n in opts.only.split(',') if n] or list(EXPERIMENTS)
  for name in names:
    if name not in EXPERIMENTS:
      parser.error(f'unknown experiment {name!r}; choose from {", ".join(EXPERIMENTS)}')
  if opts.repeats < 1 or opts.block_steps < 1:
    parser.error('--repeats and --block_steps must be >= 1')
  try:
    threads_list = [int(t) for t in opts.threads.split(',')]
    jit_list = [bool(int(j)) for j in opts.jit.split(',')]
  except ValueError:
    parser.error(f'--threads={opts.threads!r} and --jit={opts.jit!r} must be comma-separated ints')
  if opts.worker:
    name, threads, jit = opts.worker.split(':')
    record = worker(name, int(threads), jit == '1', opts.repeats, opts.block_steps, opts.mnist_dir)
    print(json.dumps(record), flush=True)
    return 0
  status = 0
  for name in names:
    for threads in threads_list:
      for jit in jit_list:
        command = [sys.executable, os.path.abspath(__file__), f'--worker={name}:{threads}:{int(jit)}',
                   f'--repeats={opts.repeats}', f'--block_steps={opts.block_steps}',
                   f'--mnist_dir={opts.mnist_dir}']
        done = subprocess.run(command, capture_output=True, text=True)
        lines = [l for l in done.stdout.splitlines() if l.startswith('{')]
        if done.returncode or not lines:
          status = 1
          tail = (done.stderr.strip().splitlines() or ['no output'])[-1]
          print(json.dumps({'experiment': name, 'threads': threads or 'default', 'jit_compile': jit,
                            'error': tail}), flush=True)
        else:
          print(lines[-1], flush=True)
  return status


if __name__ == '__main__':
  sys.exit(main())
