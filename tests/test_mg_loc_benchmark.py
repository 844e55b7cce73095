"""multigrid_memory/mapping_localization/benchmark.py at tiny sizes: its JSON lines and
the FLOP count from the layer shapes against TensorFlow's profiler."""
import json
import os
import subprocess
import sys

BENCHMARK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         'multigrid_memory', 'mapping_localization', 'benchmark.py')


def test_speed_suite_prints_json_lines():
  done = subprocess.run([sys.executable, BENCHMARK, '--threads=1', '--modes=graph', '--blocks=1',
                         '--updates=1', '--batch_size=1', '--local_t_max=2', '--map_size=5',
                         '--peak_size=128'], capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-2000:]
  records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{')]
  row, summary = records
  assert row['forward_flops'] == row['profiler_forward_flops'] > 0
  assert abs(row['profiler_update_flops'] / row['update_flops'] - 1) < 0.02
  assert 0 < row['fraction_of_peak'] < 1 and row['time_steps_per_s'] > 0
  assert summary['summary'] and summary['update_gflop'] == row['update_gflop']


def test_bad_choices_are_refused():
  done = subprocess.run([sys.executable, BENCHMARK, '--map_size=8'], capture_output=True,
                        text=True, timeout=60)
  assert done.returncode != 0 and '--map_size=8: use an odd size' in done.stderr
  assert 'Traceback' not in done.stderr
