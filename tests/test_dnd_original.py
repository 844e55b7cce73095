"""dnd_lstm against the original itself: a trace recorded from qihongl/dnd-lstm
(PyTorch 2.13, CPU) at a small size, 2 epochs of 6 trials, replayed through the
port from the same weights, stimuli, initial states and actions.

The fixture was made with
  python dnd_lstm/original/record_trace.py --original_src=<dnd-lstm>/src \
    --out=tests/data/dnd_lstm_original_tiny.npz --n_epochs=2 --n_unique_example=3 \
    --trial_length=4 --t_noise_off=2 --obs_dim=4 --dim_hidden=8 --dict_len=10
(the full-size comparison is in the README)."""
import os

from dnd_lstm import compare_original

TRACE = os.path.join(os.path.dirname(__file__), 'data', 'dnd_lstm_original_tiny.npz')


def test_port_follows_the_original_to_float32_rounding():
  records, overall = compare_original.replay(compare_original.load_trace(TRACE))
  assert overall['trials'] == 12 and len(records) == 2
  assert overall['retrieved_slot_mismatches'] == 0
  for name in ('f', 'i', 'o', 'r', 'm', 'c', 'h', 'policy', 'value', 'loss_policy',
               'loss_value', 'gradients', 'parameters_after_adam'):
    assert overall[name]['max_rel'] < 2e-6, (name, overall[name])


def test_the_port_generates_the_originals_stimuli():
  import numpy as np
  from dnd_lstm.task.contextual_choice import ContextualChoice
  trace = compare_original.load_trace(TRACE)
  task = ContextualChoice(4, 4, 2, rng=np.random.RandomState(0))
  for epoch in range(2):
    x, y = task.sample(3)
    np.testing.assert_array_equal(x.astype(np.float32), trace['x'][6 * epoch:6 * (epoch + 1)])
    np.testing.assert_array_equal(y[..., 0], trace['y'][6 * epoch:6 * (epoch + 1)])
