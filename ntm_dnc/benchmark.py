"""Speed and convergence benchmarks for the NTM/DNC port.

  python benchmark.py              # speed: one JSON line per configuration and thread count
  python benchmark.py --converge   # train NTM copy and DNC repeat-copy to < 0.1 wrong bits/seq

Speed configurations (see README for the peers they compare with):
  a  NTM copy, original defaults (batch 16, 128 x 20 memory, 5-10 words of 8 bits)
  b  DNC repeat-copy, original defaults
  c  NTM copy, common peer set-up: controller 100, memory 128 x 20, batch 1, 1-20 words of 8 bits
  d  DNC copy: controller 64, memory 16 x 16, 4 read heads, batch 16, 1-4 words of 4 bits
Each is measured in a fresh process, compiled two ways (`graph`: the default
unrolled tf.function; `xla`: --jit_compile --nounroll), with TensorFlow limited
to one intra-op thread and at its default; figures are medians of repeated
timed blocks.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

# Before TensorFlow is imported: quiet start-up; Eigen kernels (faster here than oneDNN's).
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')

COMPILE_MODES = {'graph': [], 'xla': ['--jit_compile', '--nounroll']}
SPEED_CONFIGS = {
    'a_ntm_copy_defaults': ['--config=1'],
    'b_dnc_repeat_copy_defaults': ['--config=2'],
    'c_ntm_copy_peer_b1': ['--config=1', '--batch_size=1', '--min_num_words=1',
                           '--max_num_words=20', '--time_bucket=6'],
    'c_ntm_copy_peer_b16': ['--config=1', '--batch_size=16', '--min_num_words=1',
                            '--max_num_words=20', '--time_bucket=6'],
    'd_dnc_copy': ['--config=3', '--len_word=4', '--min_num_words=1', '--max_num_words=4'],
}


def _build(flags):
  import logging
  from common import config
  from ntm_dnc import constants
  from ntm_dnc.utils import factory
  args = config.parse(constants, ['benchmark', '--checkpoint_dir=/tmp/ntm_dnc_benchmark'] + flags)
  agent_type, env_type, circuit_type = factory.resolve(args)
  from common import seeding
  seeding.seed_everything(args.SEED, DETERMINISTIC[0])  # weights, op determinism, as main.py
  logger = logging.getLogger('benchmark')
  logger.addHandler(logging.NullHandler())
  logger.propagate = False
  run_config = config.as_dict(args, constants.ARCHITECTURE_KEYS)  # main.py can test its checkpoints
  agent = factory.AgentDict[agent_type](args, factory.EnvDict[env_type],
                                        factory.CircuitDict[circuit_type], logger, run_config)
  return args, agent


def _time_steps(step_fn, batches, repeats):
  """Median seconds per step over `repeats` passes through `batches`."""
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    for batch in batches:
      loss, _ = step_fn(*batch)
    float(loss)
    times.append((time.perf_counter() - start) / len(batches))
  return statistics.median(times), float(loss)


def speed_worker(name, mode, threads, with_ratios):
  from common import runtime
  tf = runtime.start_tensorflow(threads)  # quiet start-up, then the thread setting
  args, agent = _build(SPEED_CONFIGS[name] + COMPILE_MODES[mode] + EXTRA_FLAGS)
  batches = [agent._tensors(agent.env.reset().state1) for _ in range(40)]
  for batch in batches:  # trace every padded length and warm up
    agent.train_step(*batch)
  step_s, loss = _time_steps(agent.train_step, batches, repeats=5)
  result = {'config': name, 'compile': mode, 'intra_op_threads': threads or 'default',
            'batch_size': args.BATCH_SIZE, 'steps_per_sec': round(1 / step_s, 2),
            'sequences_per_sec': round(args.BATCH_SIZE / step_s, 1),
            'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            'loss': loss}
  if with_ratios:
    eager_s, _ = _time_steps(agent._train_step, batches[:3], repeats=1)
    xla_step = tf.function(agent._train_step, jit_compile=True)
    start = time.perf_counter()
    xla_step(*batches[0])
    compile_s = time.perf_counter() - start
    xla_s, _ = _time_steps(xla_step, batches, repeats=3)
    result.update({'eager_step_ms': round(eager_s * 1e3, 1), 'graph_step_ms': round(step_s * 1e3, 2),
                   'xla_step_ms': round(xla_s * 1e3, 2), 'xla_compile_s': round(compile_s, 1),
                   'eager_over_graph': round(eager_s / step_s, 1),
                   'eager_over_xla': round(eager_s / xla_s, 1)})
  print(json.dumps(result), flush=True)


def converge(name, flags, max_steps, threshold, eval_every, eval_batches):
  """Train until the eval wrong bits per sequence fall below `threshold`."""
  import numpy as np
  args, agent = _build(flags + [f'--eval_steps={eval_batches}'])
  start, step = time.perf_counter(), 0
  while step < max_steps:
    # The streams of main.py: training batches from the training env, evaluation
    # batches from the evaluation stream of the step (common.seeding).
    agent.train_step(*agent._tensors(agent.env.step(0).state1))
    step += 1
    if step % eval_every == 0:
      loss, errors = agent._eval_model(step)
      if np.isfinite(loss):  # keep the last finite model (and RNG state) for inspection
        agent.keeper.save(step)
      print(json.dumps({'config': name, 'seed': args.SEED, 'step': step, 'eval_loss': loss, 'bit_errors': errors,
                        'wall_s': round(time.perf_counter() - start, 1)}), flush=True)
      if errors < threshold or not np.isfinite(loss):
        break
  print(json.dumps({'config': name, 'seed': args.SEED, 'converged': errors < threshold, 'steps': step,
                    'wall_s': round(time.perf_counter() - start, 1), 'eval_loss': loss,
                    'bit_errors': errors, 'final': True}), flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--converge', action='store_true')
  parser.add_argument('--only', default='', help='comma-separated config names')
  parser.add_argument('--threads', default='1,0', help='intra-op threads to try; 0 = default')
  parser.add_argument('--modes', default='graph,xla', help='compile modes to try')
  parser.add_argument('--max_steps', type=int, default=100000)
  parser.add_argument('--nondeterministic', action='store_true',
                      help='TensorFlow op determinism off (main.py always has it on)')
  parser.add_argument('--worker', default='', help=argparse.SUPPRESS)
  opts, extra = parser.parse_known_args()
  DETERMINISTIC[0] = not opts.nondeterministic
  EXTRA_FLAGS.extend(extra)  # any main.py flag, e.g. --jit_compile --nounroll
  if opts.worker:
    name, mode, threads = opts.worker.split(':')
    if opts.converge:
      from common import runtime
      runtime.start_tensorflow(int(threads))
      converge(name, CONVERGE_CONFIGS[name] + EXTRA_FLAGS, opts.max_steps, 0.1, 500, 50)
    else:
      speed_worker(name, mode, int(threads), with_ratios=name.startswith('a_') and mode == 'graph')
    return
  if opts.converge:
    names = opts.only.split(',') if opts.only else list(CONVERGE_CONFIGS)
    jobs = [(name, 'graph', opts.threads.split(',')[0]) for name in names]
  else:
    names = opts.only.split(',') if opts.only else list(SPEED_CONFIGS)
    jobs = [(name, mode, t) for name in names for mode in opts.modes.split(',')
            for t in opts.threads.split(',')]
  for name, mode, threads in jobs:  # a fresh process each: thread settings are per process
    command = [sys.executable, os.path.abspath(__file__), f'--worker={name}:{mode}:{threads}',
               f'--max_steps={opts.max_steps}'] + extra + (['--converge'] if opts.converge else [])
    command += ['--nondeterministic'] if opts.nondeterministic else []
    subprocess.run(command, check=True)


EXTRA_FLAGS = []
DETERMINISTIC = [True]  # set from --nondeterministic
CONVERGE_CONFIGS = {
    'ntm_copy': ['--config=1'],
    'dnc_repeat_copy': ['--config=2'],
}

if __name__ == '__main__':
  main()
