"""common.runtime: TensorFlow's start-up noise is dropped, other stderr passes."""
import os
import subprocess
import sys

from common import runtime


def test_quiet_startup_filters_known_noise_only(capfd):
  def noisy():
    os.write(2, b'E0000 00:00:1 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR\n')
    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written '
                b'to STDERR\n')
    os.write(2, b'a real warning\n')
    return 42
  assert runtime.quiet_startup(noisy) == 42
  err = capfd.readouterr().err
  assert 'a real warning' in err and 'cuInit' not in err and 'absl' not in err


def test_main_prints_no_cuda_noise(tmp_path):
  main = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ntm_dnc',
                      'main.py')
  done = subprocess.run([sys.executable, main, '--config=0', '--test_nepisodes=1',
                         f'--checkpoint_dir={tmp_path}'], capture_output=True, text=True,
                        timeout=120)
  assert done.returncode == 0, done.stderr
  for noise in ('cuInit', 'cuda drivers', 'absl::InitializeLog', 'oneDNN'):
    assert noise not in done.stderr + done.stdout
