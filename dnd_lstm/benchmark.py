"""Speed, retrieval latency and reproduction benchmarks of the DND-LSTM port.

  python benchmark.py                       # every suite below, JSON lines (~6 min here)
  python benchmark.py --suites=reproduce    # one suite
  python benchmark.py --original_src=<dnd-lstm>/src --original_python=<python with torch>
                                            # also time the original in the same window

Suites:
  speed      seconds per default run (20 epochs, 2,000 updates) with one intra-op
             thread and at TensorFlow's default, graph vs XLA, each in a fresh
             process, repeated and alternated with the original (when given);
             also 10 seeds side by side (--n_agents=10) and the peak RSS.
  retrieval  latency of the nearest-neighbour search (common/kernels/nearest.py
             `search`, compiled) for 1, 32 and 1024 queries against 1e2 .. 1e6
             stored 64-d keys, with the FLOP bound from a large matmul timed in
             the same process.
  reproduce  seeds 0-9 with the defaults, per seed and pooled, against the
             acceptance bands of spec 7.4, and the retrieval-off control; writes
             figures/dnd_lstm_reproduce.jsonl and figures/dnd_lstm_accuracy_10seeds.png.
"""
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(HERE, '..', 'figures')
FLAGS = flags.FLAGS
flags.DEFINE_list('suites', ['speed', 'retrieval', 'reproduce'], 'suites to run')
flags.DEFINE_integer('repeats', 3, 'timed runs per speed configuration (medians quoted)')
flags.DEFINE_list('threads', ['1', '0'], 'intra-op threads to time (0: TensorFlow default)')
flags.DEFINE_list('modes', ['graph', 'xla'], 'compile modes to time')
flags.DEFINE_string('original_src', '', "the original's src/ folder, to time it alongside")
flags.DEFINE_string('original_python', '', 'a Python with torch for the original')
flags.DEFINE_list('queries', ['1', '32', '1024'], 'retrieval: query counts')
flags.DEFINE_list('stored', ['100', '10000', '100000', '1000000'], 'retrieval: stored keys')
flags.DEFINE_integer('n_seeds', 10, 'reproduce: seeds 0 .. n_seeds-1')
flags.DEFINE_string('out_dir', FIGURES, 'reproduce: where the JSON lines and figure go')
flags.DEFINE_string('worker', '', 'internal: run one measurement in this process')

# The original's values (spec 7.4: 10 re-runs, PyTorch, seeds 0-9; spec 7.2: the notebook).
ORIGINAL_POOLED_REPEATED_T0_4 = [0.77, 0.80, 0.82, 0.82, 0.84]
ORIGINAL_NOTEBOOK = {'first': [0.38, 0.50, 0.56, 0.50, 0.46, 0.94, 1.0, 1.0, 1.0, 0.98],
                     'repeated': [0.70, 0.80, 0.74, 0.80, 0.84, 1.0, 1.0, 1.0, 1.0, 1.0]}


def emit(record):
  print(json.dumps(record), flush=True)


# -- speed ----------------------------------------------------------------------------------
def train_run(flags_, directory):
  """Runs main.py's training in this process; returns (trainer, seconds in fit(),
  seconds before it: TensorFlow's start-up and the model's construction)."""
  import logging
  start = time.perf_counter()
  from common import config, runtime
  from dnd_lstm import constants
  args = config.parse(constants, ['benchmark', f'--checkpoint_dir={directory}', *flags_])
  runtime.start_tensorflow(args.INTRA_OP_THREADS, args.SEED,
                           inter_op_threads=args.INTER_OP_THREADS)
  from common.logs import setup_logger
  from dnd_lstm.trainer import Trainer
  logger = setup_logger(os.path.join(directory, 'log.txt'), level=logging.WARNING)
  trainer = Trainer(args, logger, config.as_dict(args, constants.ARCHITECTURE_KEYS),
                    config.as_dict(args))
  fit_start = time.perf_counter()
  trainer.fit()
  return trainer, time.perf_counter() - fit_start, fit_start - start


def speed_worker(mode, threads, agents):
  flags_ = [f'--intra_op_threads={threads}', f'--n_agents={agents}', '--visualize=false',
            '--max_keep_checkpoints=1'] + (['--jit_compile'] if mode == 'xla' else [])
  with tempfile.TemporaryDirectory() as directory:
    trainer, seconds, startup = train_run(flags_, directory)
  returns = trainer.logs.arrays['returns'][:, -1].mean(axis=1)
  emit({'suite': 'speed', 'program': 'port', 'compile': mode, 'intra_op_threads': threads or
        'default', 'agents': agents, 'train_s': round(seconds, 2), 'startup_s': round(startup, 2),
        'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        'return_epoch19': [round(float(r), 2) for r in returns]})


def run_original(threads):
  """The original's script as shipped (its figures are made, not shown: Agg)."""
  env = dict(os.environ, MPLBACKEND='Agg')
  if threads:
    env['OMP_NUM_THREADS'] = str(threads)
  start = time.perf_counter()
  done = subprocess.run([FLAGS.original_python, 'contextual-choice.py'], cwd=FLAGS.original_src,
                        env=env, capture_output=True, text=True)
  wall = time.perf_counter() - start
  if done.returncode:
    raise SystemExit(f'error: the original failed: {done.stderr.strip().splitlines()[-1:]}')
  epochs = [float(t) for t in re.findall(r'time = ([0-9.]+)', done.stdout)]
  returns = [float(r) for r in re.findall(r'return = ([0-9.]+)', done.stdout)]
  record = {'suite': 'speed', 'program': 'original', 'intra_op_threads': threads or 'default',
            'process_wall_s': round(wall, 2), 'train_s': round(sum(epochs), 2),
            'return_epoch19': returns[-1] if returns else None}
  emit(record)
  return record


def speed():
  """Training time (the port's fit(), compiling included; the original's epochs, as
  it prints them) and the whole command's wall time, alternating programs."""
  def port(mode, threads, agents=1):
    command = [sys.executable, os.path.abspath(__file__), f'--worker=speed:{mode}:{threads}:{agents}']
    start = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    record = json.loads([l for l in out.splitlines() if l.startswith('{')][-1])
    record['process_wall_s'] = round(time.perf_counter() - start, 2)
    emit(record)
    return record

  records = {}
  with_original = bool(FLAGS.original_src and FLAGS.original_python)
  for _ in range(FLAGS.repeats):
    for threads in (int(t) for t in FLAGS.threads):
      for mode in FLAGS.modes:
        records.setdefault(('port', mode, threads), []).append(port(mode, threads))
      if with_original:
        records.setdefault(('original', None, threads), []).append(run_original(threads))
      records.setdefault(('port_10_seeds', 'graph', threads), []).append(port('graph', threads, 10))
  median = lambda rs, key: statistics.median(r[key] for r in rs)
  for (program, mode, threads), runs in records.items():
    summary = {'suite': 'speed', 'summary': True, 'program': program, 'compile': mode,
               'intra_op_threads': threads or 'default', 'runs': len(runs),
               'median_train_s': round(median(runs, 'train_s'), 2),
               'median_process_wall_s': round(median(runs, 'process_wall_s'), 2)}
    if 'peak_rss_mb' in runs[0]:
      summary['peak_rss_mb'] = max(r['peak_rss_mb'] for r in runs)
    original = records.get(('original', None, threads))
    if original and program != 'original':
      for key in ('train_s', 'process_wall_s'):
        summary[f'original_over_this_{key}'] = round(median(original, key) / median(runs, key), 2)
    emit(summary)


# -- retrieval ------------------------------------------------------------------------------
def retrieval_worker(threads):
  from common import runtime
  tf = runtime.start_tensorflow(threads)
  import numpy as np
  from common.kernels import nearest

  def median_seconds(function, *args, repeats=5):
    function(*args)  # compile and warm up
    times = []
    for _ in range(repeats):
      start = time.perf_counter()
      out = function(*args)
      out[0].numpy()
      times.append(time.perf_counter() - start)
    return statistics.median(times)

  size = 2048
  a = tf.random.stateless_normal([size, size], seed=[0, 1])
  matmul = tf.function(lambda x: (tf.matmul(x, x),))
  peak = 2 * size ** 3 / median_seconds(matmul, a)
  emit({'suite': 'retrieval', 'intra_op_threads': threads or 'default',
        'measured_peak_gflops': round(peak / 1e9, 1), 'from': f'{size}^3 float32 matmul'})
  rng = np.random.default_rng(0)
  for stored in (int(s) for s in FLAGS.stored):
    keys = tf.constant(rng.normal(size=(stored, 64)).astype(np.float32))
    for queries in (int(q) for q in FLAGS.queries):
      q = tf.constant(rng.normal(size=(queries, 64)).astype(np.float32))
      search = tf.function(lambda q_, k_: nearest.search(q_, k_, stored, k=1))
      seconds = median_seconds(search, q, keys, repeats=3 if stored * queries > 1e7 else 7)
      flops = 2 * queries * stored * 64 + 8 * queries * stored  # the product + the rest
      emit({'suite': 'retrieval', 'intra_op_threads': threads or 'default', 'queries': queries,
            'stored_keys': stored, 'key_dim': 64, 'latency_ms': float(f'{seconds * 1e3:.4g}'),
            'flop_bound_ms': float(f'{flops / peak * 1e3:.3g}'),
            'fraction_of_bound': float(f'{flops / peak / seconds:.3g}')})


def retrieval():
  for threads in FLAGS.threads:
    subprocess.run([sys.executable, os.path.abspath(__file__), f'--worker=retrieval:{threads}',
                    f'--stored={",".join(FLAGS.stored)}', f'--queries={",".join(FLAGS.queries)}'],
                   check=True)


# -- reproduction ---------------------------------------------------------------------------
BANDS = {
    'repeated_t0_pooled_mean': (0.70, 0.84), 'repeated_t0_pooled_min': (0.65, 1.0),
    'first_before_noise_off_mean': (0.40, 0.60), 'return_epoch19_mean': (7.85, 8.45),
    'pc0_sign_split_min': (0.95, 1.0),
    'control_repeated_t0_mean': (0.40, 0.60),
}


def reproduce_worker(kind):
  from dnd_lstm import analysis
  n_seeds = FLAGS.n_seeds
  flags_ = [f'--n_agents={n_seeds}', '--seed=0', '--save_vis_interval=0']
  flags_ += ['--retrieval_off', '--visualize=false'] if kind == 'control' else []
  with tempfile.TemporaryDirectory() as directory:
    trainer, seconds, _ = train_run(flags_, directory)
    logs = trainer.logs.arrays
    split = []
    if kind != 'control':
      for seed in trainer.seeds:
        with open(os.path.join(directory, '00000019', f'seed{seed}', 'analysis.json')) as handle:
          saved = json.load(handle)
        split.append((saved['pc0_sign_split'], saved['pc0_variance']))
  for b, seed in enumerate(trainer.seeds):
    summary = analysis.pooled_summary(logs['actions'][b], logs['targets'][b], logs['returns'][b],
                                      50, 5, range(15, 20))
    record = {'suite': 'reproduce', 'kind': kind, 'seed': seed,
              **{k: (round(v, 4) if isinstance(v, float) else
                     [round(x, 4) for x in v] if isinstance(v, list) and isinstance(v[0], float)
                     else v) for k, v in summary.items()},
              'returns_by_epoch': [round(float(r), 3) for r in logs['returns'][b].mean(-1)]}
    if split:
      record['pc0_sign_split'], record['pc0_variance'] = split[b]
    emit(record)
  emit({'suite': 'reproduce', 'kind': kind, 'train_s': round(seconds, 1), 'seeds': n_seeds})


def reproduce():
  import numpy as np
  records = []
  for kind in ('default', 'control'):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), f'--worker=reproduce:{kind}',
                          f'--n_seeds={FLAGS.n_seeds}'], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
      if line.startswith('{'):
        records.append(json.loads(line))
        emit(records[-1])
  seeds = [r for r in records if r['kind'] == 'default' and 'seed' in r]
  control = [r for r in records if r['kind'] == 'control' and 'seed' in r]
  pooled = {
      'repeated_t0_pooled_mean': float(np.mean([r['repeated_t0'] for r in seeds])),
      'repeated_t0_pooled_min': float(np.min([r['repeated_t0'] for r in seeds])),
      'first_before_noise_off_mean': float(np.mean([r['first_before_noise_off'] for r in seeds])),
      'return_epoch19_mean': float(np.mean([r['return_last_epoch'] for r in seeds])),
      'return_epoch19_sd': float(np.std([r['return_last_epoch'] for r in seeds])),
      'pc0_sign_split_min': float(np.min([r['pc0_sign_split'] for r in seeds])),
      'pc0_variance_mean': float(np.mean([r['pc0_variance'] for r in seeds])),
      'control_repeated_t0_mean': float(np.mean([r['repeated_t0'] for r in control])),
      'control_repeated_t0_4_mean': float(np.mean([np.mean(r['repeated_by_time'][:5])
                                                   for r in control])),
      'control_return_epoch19_mean': float(np.mean([r['return_last_epoch'] for r in control])),
  }
  verdict = {name: bool(low <= pooled[name] <= high) for name, (low, high) in BANDS.items()}
  summary = {'suite': 'reproduce', 'summary': True, 'seeds': len(seeds),
             **{k: round(v, 4) for k, v in pooled.items()}, 'bands': BANDS, 'in_band': verdict,
             'all_in_band': all(verdict.values())}
  emit(summary)
  os.makedirs(FLAGS.out_dir, exist_ok=True)
  with open(os.path.join(FLAGS.out_dir, 'dnd_lstm_reproduce.jsonl'), 'w') as handle:
    for record in records + [summary]:
      handle.write(json.dumps(record) + '\n')
  accuracy_figure(seeds, control, os.path.join(FLAGS.out_dir, 'dnd_lstm_accuracy_10seeds.png'))


def accuracy_figure(seeds, control, path):
  """Accuracy by time pooled over epochs 15-19, mean +- 2 SEM over seeds, beside the
  original's values."""
  import numpy as np
  from common import plots
  from dnd_lstm.analysis import compute_stats
  figure, (axes,) = plots.new_figure(8, 4.5)
  steps = np.arange(len(seeds[0]['repeated_by_time']))
  for key, label in (('first_by_time', 'port: first presentation'),
                     ('repeated_by_time', 'port: repeated')):
    mean, se = compute_stats([r[key] for r in seeds])
    axes.errorbar(steps, mean, yerr=2 * se, capsize=3, label=f'{label} ({len(seeds)} seeds)')
  mean, se = compute_stats([r['repeated_by_time'] for r in control])
  axes.errorbar(steps, mean, yerr=2 * se, capsize=3, linestyle=':',
                label='port: repeated, retrieval-off control')
  axes.plot(steps[:5], ORIGINAL_POOLED_REPEATED_T0_4, 'k*', markersize=10,
            label='original: repeated (10 re-runs)')
  axes.plot(steps, ORIGINAL_NOTEBOOK['repeated'], 'kx--', alpha=0.5,
            label='original notebook (last epoch): repeated')
  axes.plot(steps, ORIGINAL_NOTEBOOK['first'], 'k+--', alpha=0.5,
            label='original notebook (last epoch): first')
  axes.axvline(5, color='grey', linestyle='--', label='turn off noise')
  axes.set(xlabel='Time', ylabel='Correct rate',
           title='Choice accuracy, epochs 15-19 pooled (mean +- 2 SEM over seeds)')
  axes.legend(loc='center left', bbox_to_anchor=(1.02, 0.5), frameon=False, fontsize=8)
  plots.save(figure, path)
  emit({'suite': 'reproduce', 'figure': os.path.normpath(path)})


def main(argv):
  del argv
  if FLAGS.worker:
    kind, *rest = FLAGS.worker.split(':')
    if kind == 'speed':
      speed_worker(rest[0], int(rest[1]), int(rest[2]))
    elif kind == 'retrieval':
      retrieval_worker(int(rest[0]))
    else:
      reproduce_worker(rest[0])
    return
  if FLAGS.original_src and not os.path.exists(os.path.join(FLAGS.original_src,
                                                             'contextual-choice.py')):
    raise SystemExit(f'error: --original_src={FLAGS.original_src!r} has no contextual-choice.py')
  unknown = set(FLAGS.suites) - {'speed', 'retrieval', 'reproduce'}
  if unknown:
    raise SystemExit(f'error: unknown --suites {sorted(unknown)}; choose from speed, retrieval, '
                     'reproduce')
  for suite in ('speed', 'retrieval', 'reproduce'):
    if suite in FLAGS.suites:
      globals()[suite]()


if __name__ == '__main__':
  app.run(main)
