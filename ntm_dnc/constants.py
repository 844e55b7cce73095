"""Every setting of the NTM/DNC port, named as in jingweiz/pytorch-dnc's options.

Edit this file, or override any UPPERCASE name on the command line as
`python main.py --lowercase_name=value`. Defaults reproduce the original
(spec section 5); the original's quirks are switches below, faithful by default.
"""

# (agent_type, env_type, game, circuit_type), indexed by CONFIG, as the original.
CONFIGS = [
    ('empty', 'repeat-copy', '', 'none'),  # 0: env tester, never trains
    ('sl', 'copy', '', 'ntm'),             # 1: NTM on copy
    ('sl', 'repeat-copy', '', 'dnc'),      # 2: DNC on repeat-copy
    ('sl', 'copy', '', 'dnc'),             # 3: DNC on copy (an addition, for comparisons)
]
CONFIG = 1

# Run signature: outputs go to checkpoints/<MACHINE>_<TIMESTAMP>/ by default.
MACHINE = 'daim'
TIMESTAMP = '17080800'          # yymmdd##
MODE = 'train'                  # 'train' or 'test'
SEED = 1                        # numpy data RNG (as the original) and TF weight init
VERBOSE = 0
CHECKPOINT_DIR = 'checkpoints/{MACHINE}_{TIMESTAMP}'  # {NAMES} filled from these constants
VISUALIZE = True
SAVE_VIS_INTERVAL = 500         # steps between visualisation folders
MAX_KEEP_CHECKPOINTS = 3

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
CLIP_GRAD = 50.0                # defined by the original, never applied: see CLIP_GRAD_NORM

# Environments (0 means "the default of the chosen env" for the three below).
LEN_WORD = 0                    # copy 8, repeat-copy 4
MIN_NUM_WORDS = 0               # copy 5, repeat-copy 1
MAX_NUM_WORDS = 0               # copy 10, repeat-copy 2
MIN_REPEATS = 1
MAX_REPEATS = 2
MAX_REPEATS_NORM = 10.0
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

# Allowed values; checked when flags are parsed.
CONSTRAINTS = {
    'CONFIG': (0, 3),
    'MODE': ('train', 'test'),
    'MAX_STEPS': (0, None), 'BATCH_SIZE': (1, None), 'LR': (0.0, None),
    'OPTIM_EPS': (0.0, None), 'OPTIM_ALPHA': (0.0, 1.0),
    'EVAL_FREQ': (1, None), 'EVAL_STEPS': (1, None), 'PROG_FREQ': (1, None),
    'TEST_NEPISODES': (1, None), 'SAVE_VIS_INTERVAL': (0, None),
    'MAX_KEEP_CHECKPOINTS': (1, None),
    'LEN_WORD': (0, None), 'MIN_NUM_WORDS': (0, None), 'MAX_NUM_WORDS': (0, None),
    'MIN_REPEATS': (1, None), 'MAX_REPEATS': (1, None), 'MAX_REPEATS_NORM': (0.0, None),
    'TIME_BUCKET': (0, None), 'INTRA_OP_THREADS': (0, None),
    'HIDDEN_DIM': (0, None), 'NUM_WRITE_HEADS': (0, None), 'NUM_READ_HEADS': (0, None),
    'MEM_HEI': (0, None), 'MEM_WID': (0, None), 'CLIP_VALUE': (0.0, None),
    'NUM_ALLOWED_SHIFTS': (3, 3), 'CLIP_GRAD_NORM': (0.0, None),
    'SHARPEN_EPSILON': (0.0, None),
}

# Constants that define the model and data; a checkpoint made with other values
# is refused rather than partially restored.
ARCHITECTURE_KEYS = (
    'CONFIG', 'LEN_WORD', 'HIDDEN_DIM', 'NUM_WRITE_HEADS', 'NUM_READ_HEADS',
    'MEM_HEI', 'MEM_WID', 'NUM_ALLOWED_SHIFTS',
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
