"""multigrid_memory/mnist_recall/benchmark.py at tiny sizes: its JSON lines, the FLOP
count from the layer shapes against TensorFlow's profiler, bad choices refused."""
import json
import os
import subprocess
import sys

BENCHMARK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         'multigrid_memory', 'mnist_recall', 'benchmark.py')


def run(*flags, timeout=300):
  return subprocess.run([sys.executable, BENCHMARK, *flags], capture_output=True, text=True,
                        timeout=timeout)


def test_speed_and_loop_suites_print_json_lines():
  done = run('--threads=1', '--modes=graph', '--onednn=off', '--blocks=2', '--updates=2',
             '--batch_size=2', '--local_t_max=3', '--peak_size=128')
  assert done.returncode == 0, done.stderr[-2000:]
  records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{')]
  speed = [r for r in records if r['suite'] == 'speed' and not r.get('summary')]
  loops = [r for r in records if r['suite'] == 'loop' and not r.get('summary')]
  assert len(speed) == 1 and sorted(r['loop'] for r in loops) == ['unroll', 'while']
  row = speed[0]
  # The count from the layer shapes is the profiler's count of the traced graphs.
  assert row['forward_flops'] == row['profiler_forward_flops'] > 0
  assert abs(row['profiler_update_flops'] / row['update_flops'] - 1) < 0.02
  assert 0 < row['fraction_of_peak'] < 1 and row['peak_gflops']['conv'] > 0
  assert row['updates_per_s'] > 0 and row['time_steps_per_s'] == round(3 * row['updates_per_s'], 1)
  assert row['peak_rss_mb'] > 100 and row['first_call_s'] > 0
  # Both loops train alike (to float32 rounding, which the updates amplify).
  assert abs(loops[0]['loss_last'] - loops[1]['loss_last']) < 0.02 * loops[0]['loss_last']
  summaries = [r for r in records if r.get('summary')]
  assert {(r['suite'], r['loop']) for r in summaries} == {('speed', 'unroll'), ('loop', 'unroll'),
                                                         ('loop', 'while')}


def test_bad_choices_are_refused():
  for flag, message in (('--modes=jit', '--modes=jit: choose from graph, xla'),
                        ('--suites=fast', '--suites=fast: choose from speed, loop'),
                        ('--threads=two', '--threads=two: use integers 0..256')):
    done = run(flag, timeout=60)
    assert done.returncode != 0 and message in done.stderr, done.stderr[-500:]
    assert 'Traceback' not in done.stderr
