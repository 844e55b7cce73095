"""Every setting of the NTM/DNC port, named as in jingweiz/pytorch-dnc's options.

Edit this file, or override any UPPERCASE name on the command line as
`python main.py --lowercase_name=value`. Defaults reproduce the original
(spec section 5); the original's quirks are switches below, faithful by default.
"""
import re

from common.config import ConfigError

# (agent_type, env_type, game, circuit_type), indexed by CONFIG, as the original.
CONFIGS = [
    ('empty', 'repeat-copy', '', 'none'),  # 0: env tester, never trains
    ('sl', 'copy', '', 'ntm'),             # 1: NTM on copy
    ('sl', 'repeat-copy', '', 'dnc'),      # 2: DNC on repeat-copy
    ('sl', 'copy', '', 'dnc'),             # 3: DNC on copy (an addition, for comparisons)
]
CONFIG = 1

# Run signature: outputs go to checkpoints/<MACHINE>_<TIMESTAMP>_config<CONFIG>/ by default.
MACHINE = 'daim'
TIMESTAMP = '17080800'          # yymmdd##
MODE = 'train'                  # 'train' or 'test'
SEED = 1                        # weights, data stream and evaluation batches (common.seeding)
VERBOSE = 0                     # 0: progress and warnings (all the original showed); 1: also each step's loss
CHECKPOINT_DIR = 'checkpoints/{MACHINE}_{TIMESTAMP}_config{CONFIG}'  # {NAMES} filled from these
RESTART = False                 # train from step 0 even if CHECKPOINT_DIR holds checkpoints
                                # (they are moved aside, never deleted)
VISUALIZE = True
SAVE_VIS_INTERVAL = 500         # steps between visualisation folders
MAX_KEEP_CHECKPOINTS = 3
SAVE_INTERVAL = 0               # steps between checkpoints; 0 = at every evaluation,
                                # as the original
SAVE_INTERVAL_MINUTES = 0.0     # also save once this many minutes passed since the last save;
                                # 0 = off

# Agent (training loop), identical for NTM and DNC.
MAX_STEPS = 100000              # `steps` of the original
BATCH_SIZE = 16
LR = 1e-4
OPTIM_EPS = 1e-10
OPTIM_ALPHA = 0.9
EVAL_FREQ = 500
EVAL_STEPS = 50
PROG_FREQ = 500                 # progress line / TensorBoard interval
TEST_NEPISODES = 5
# The original also defines clip_grad = 50.0 but never applies it; see CLIP_GRAD_NORM.

# Environments (0 means "the default of the chosen env" for the three below).
LEN_WORD = 0                    # copy 8, repeat-copy 4
MIN_NUM_WORDS = 0               # copy 5, repeat-copy 1
MAX_NUM_WORDS = 0               # copy 10, repeat-copy 2
MIN_REPEATS = 1
MAX_REPEATS = 2
MAX_REPEATS_NORM = 10.0         # repeat-copy: the repeat count r is fed as r / MAX_REPEATS_NORM
TIME_BUCKET = 0                 # 0: pad every batch to the env's longest T (one trace);
                                # k > 0: pad T up to a multiple of k (few traces)

# Circuits (0 means "the default of the chosen circuit").
HIDDEN_DIM = 0                  # ntm 100, dnc 64
NUM_WRITE_HEADS = 0             # ntm 1, dnc 1
NUM_READ_HEADS = 0              # ntm 1, dnc 4
MEM_HEI = 0                     # ntm 128, dnc 16
MEM_WID = 0                     # ntm 20, dnc 16
CLIP_VALUE = 20.0               # clamp of controller h and output logits
NUM_ALLOWED_SHIFTS = 3

# Compilation and threads.
JIT_COMPILE = False             # XLA for the training step
INTRA_OP_THREADS = 1            # TensorFlow intra-op threads; 0 = TF's default. One thread
                                # is faster for these small ops (see README, benchmark.py)
UNROLL = True                   # unroll the time loop in the graph (else tf.while_loop)

# Quirks of the original (spec 3.5): faithful default, paper/reference alternative.
PERSIST_ALLOC_USAGE = True      # Q1: usage simulated in allocation carries to t+1
ONE_HOT_INIT_WEIGHTS = True     # Q2: previous weights start one-hot on slot 0 (else 0)
USAGE_STOP_GRADIENT = False     # Q3: stop gradient of previous write weights in usage
TANH_KEYS = True                # Q4: tanh on keys and DNC write vector (else linear)
ONEPLUS_STRENGTHS = False       # Q4: strengths softplus (else 1 + softplus, the paper)
CLIP_GRAD_NORM = 0.0            # Q6: 0 = no gradient clipping; 50 = DeepMind's global norm
SHARPEN_EPSILON = 0.0           # NTM sharpening denominator epsilon (0 = faithful)
LOGIT_LOSS = False              # False: BCE on probabilities with 1e-12 (faithful)

# Allowed values; checked when flags are parsed. Every int and float has a range
# (tests/test_config.py checks it); an open int range is capped at 2**31 - 1.
CONSTRAINTS = {
    'CONFIG': (0, len(CONFIGS) - 1),
    'MODE': ('train', 'test'),
    'SEED': (0, 2 ** 32 - 1),  # numpy's legacy RandomState / np.random.seed range
    'VERBOSE': (0, 1), 'SAVE_VIS_INTERVAL': (0, None), 'MAX_KEEP_CHECKPOINTS': (1, None),
    'SAVE_INTERVAL': (0, None), 'SAVE_INTERVAL_MINUTES': (0.0, None),
    'MAX_STEPS': (0, None), 'BATCH_SIZE': (1, None), 'LR': (0.0, None),
    'OPTIM_EPS': (0.0, None), 'OPTIM_ALPHA': (0.0, 1.0),
    'EVAL_FREQ': (1, None), 'EVAL_STEPS': (1, None), 'PROG_FREQ': (1, None),
    'TEST_NEPISODES': (1, None),
    'LEN_WORD': (0, None), 'MIN_NUM_WORDS': (0, None), 'MAX_NUM_WORDS': (0, None),
    'MIN_REPEATS': (1, None), 'MAX_REPEATS': (1, None),
    'MAX_REPEATS_NORM': (1e-6, None),  # a divisor
    'TIME_BUCKET': (0, None), 'INTRA_OP_THREADS': (0, 256),
    'HIDDEN_DIM': (0, None), 'NUM_WRITE_HEADS': (0, None), 'NUM_READ_HEADS': (0, None),
    'MEM_HEI': (0, None), 'MEM_WID': (0, None), 'CLIP_VALUE': (0.0, None),
    'NUM_ALLOWED_SHIFTS': (3, 3), 'CLIP_GRAD_NORM': (0.0, None),
    'SHARPEN_EPSILON': (0.0, None),
}

# Settings that must agree, (FIRST, SECOND, why): FIRST <= SECOND once the env's
# and circuit's defaults are filled in (common.config checks them).
AT_MOST = (
    ('MIN_NUM_WORDS', 'MAX_NUM_WORDS', 'the word counts are drawn from this range'),
    ('MIN_REPEATS', 'MAX_REPEATS', 'the repeat counts are drawn from this range'),
)

# Flags that only some configurations use (given on the command line for another,
# they are refused rather than ignored): CONFIG 0 is the env tester, which builds no
# circuit and never trains; 0 and 2 are repeat-copy; 1 is the NTM, 2 and 3 the DNC.
_TRAINED, _REPEAT_COPY, _NTM, _DNC = (1, 2, 3), (0, 2), (1,), (2, 3)
APPLIES_ONLY = {
    **{name: ('CONFIG', _TRAINED) for name in (
        'LR', 'OPTIM_EPS', 'OPTIM_ALPHA', 'EVAL_FREQ', 'EVAL_STEPS', 'PROG_FREQ', 'MAX_STEPS',
        'SAVE_INTERVAL', 'SAVE_INTERVAL_MINUTES', 'SAVE_VIS_INTERVAL', 'VISUALIZE',
        'MAX_KEEP_CHECKPOINTS', 'RESTART', 'VERBOSE', 'HIDDEN_DIM', 'NUM_WRITE_HEADS',
        'NUM_READ_HEADS', 'MEM_HEI', 'MEM_WID', 'CLIP_VALUE', 'JIT_COMPILE', 'UNROLL',
        'TANH_KEYS', 'ONEPLUS_STRENGTHS', 'ONE_HOT_INIT_WEIGHTS', 'CLIP_GRAD_NORM',
        'LOGIT_LOSS')},
    **{name: ('CONFIG', _REPEAT_COPY) for name in ('MIN_REPEATS', 'MAX_REPEATS',
                                                   'MAX_REPEATS_NORM')},
    **{name: ('CONFIG', _NTM) for name in ('NUM_ALLOWED_SHIFTS', 'SHARPEN_EPSILON')},
    **{name: ('CONFIG', _DNC) for name in ('PERSIST_ALLOC_USAGE', 'USAGE_STOP_GRADIENT')},
}

# Constants that define the model and data; a checkpoint made with other values
# is refused rather than partially restored.
ARCHITECTURE_KEYS = (
    'CONFIG', 'LEN_WORD', 'HIDDEN_DIM', 'NUM_WRITE_HEADS', 'NUM_READ_HEADS',
    'MEM_HEI', 'MEM_WID', 'NUM_ALLOWED_SHIFTS',
    'SEED',  # a run resumed with another seed would be neither seed's run
)

# Per-env and per-circuit defaults (spec section 5) used where the constant is 0.
ENV_DEFAULTS = {
    'copy': {'LEN_WORD': 8, 'MIN_NUM_WORDS': 5, 'MAX_NUM_WORDS': 10},
    'repeat-copy': {'LEN_WORD': 4, 'MIN_NUM_WORDS': 1, 'MAX_NUM_WORDS': 2},
}
CIRCUIT_DEFAULTS = {
    'ntm': {'HIDDEN_DIM': 100, 'NUM_WRITE_HEADS': 1, 'NUM_READ_HEADS': 1,
            'MEM_HEI': 128, 'MEM_WID': 20},
    'dnc': {'HIDDEN_DIM': 64, 'NUM_WRITE_HEADS': 1, 'NUM_READ_HEADS': 4,
            'MEM_HEI': 16, 'MEM_WID': 16},
}


def derive_defaults(values):
  """Fills the chosen env's and circuit's defaults where a constant is 0 (at parse
  time, so that AT_MOST and estimate_memory see them) and checks the run's name."""
  for name in ('MACHINE', 'TIMESTAMP'):  # they name the default CHECKPOINT_DIR
    if not re.fullmatch(r'[A-Za-z0-9_.-]+', values[name]):
      raise ConfigError(f'--{name.lower()}={values[name]!r} must be a non-empty name of letters, '
                        'digits, "_", "." or "-" (it names the checkpoint directory)')
  _agent, env_type, _game, circuit_type = values['CONFIGS'][values['CONFIG']]
  defaults = dict(values['ENV_DEFAULTS'].get(env_type, {}))  # unknown names: factory says so
  defaults.update(values['CIRCUIT_DEFAULTS'].get(circuit_type, {}))
  for name, default in defaults.items():
    if values[name] == 0:
      values[name] = default


def _longest_sequence(values, env_type):
  """T of the padded batches: the env's longest sequence, rounded up to TIME_BUCKET."""
  words = values['MAX_NUM_WORDS']
  if env_type == 'copy':
    time, how = 2 * words + 2, f'2 x --max_num_words={words} + 2'
  else:
    time = words * (values['MAX_REPEATS'] + 1) + 3
    how = f'--max_num_words={words} x (--max_repeats={values["MAX_REPEATS"]} + 1) + 3'
  bucket = values['TIME_BUCKET']
  if bucket:
    time = -(-time // bucket) * bucket
  return time, how


def estimate_memory(values):
  """The main memory consumers of a training run, {description: bytes}, from
  core/env.py, circuit.py, accessor.py, heads.py and agent.py (within ~2x).

  The unrolled sequence keeps every step's tensors for backprop: T steps x B x
  (memory-sized tensors [N, W]: the new memory, each write head's erase and add
  outer products and the normalised memory of the write and read content
  lookups; ~8 weightings [N] per head; for the DNC ~4 link-sized tensors
  [Hw, N, N] per step; ~12 controller vectors [H] and the interface). Parameters
  count 4 times (weights, gradients, the RMSprop average, fused copies).
  """
  _agent, env_type, _game, circuit_type = values['CONFIGS'][values['CONFIG']]
  b, word = values['BATCH_SIZE'], values['LEN_WORD']
  time, how = _longest_sequence(values, env_type)
  out = word if env_type == 'copy' else word + 1
  channels = word + 2 + 2 * out  # input, target, mask
  sizes = {f'batches: --batch_size={b} x T={time} ({how}) x {channels} channels x 16 bytes '
           '(generated in float64, padded in float32, as tensors)': b * time * channels * 16}
  if circuit_type not in ('ntm', 'dnc'):
    return sizes
  n, w, h = values['MEM_HEI'], values['MEM_WID'], values['HIDDEN_DIM']
  hw, r = values['NUM_WRITE_HEADS'], values['NUM_READ_HEADS']
  steps = f'--batch_size={b} x T={time} ({how})'
  sizes[f'memory kept for backprop: {steps} x {3 + 2 * hw} x --mem_hei={n} x --mem_wid={w} '
        'x 4 bytes'] = b * time * (3 + 2 * hw) * n * w * 4
  sizes[f'weightings kept for backprop: {steps} x 8 x (--num_write_heads={hw} + '
        f'--num_read_heads={r}) x --mem_hei={n} x 4 bytes'] = b * time * 8 * (hw + r) * n * 4
  if circuit_type == 'ntm':
    units = hw * (3 * w + 6) + r * (w + 6)
  else:
    units = hw * (3 * w + 3) + r * (w + 2 * hw + 3)
    sizes[f'temporal links kept for backprop: {steps} x 4 x --num_write_heads={hw} x '
          f'--mem_hei={n}^2 x 4 bytes'] = b * time * 4 * hw * n * n * 4
  controller = 12 * h + 2 * r * w + units
  sizes[f'controller states kept for backprop: {steps} x {controller} floats (--hidden_dim={h}, '
        'read vectors, interface) x 4 bytes'] = b * time * controller * 4
  din = word + 2
  parameters = (din + r * w + h) * 4 * h + 8 * h + (h + 1) * units + (h + r * w + 1) * out
  sizes[f'parameters: 4 x {parameters} (--hidden_dim={h}^2 x 4 + heads) x 4 bytes '
        '(weights, gradients, optimiser, fused copies)'] = 4 * parameters * 4
  return sizes
