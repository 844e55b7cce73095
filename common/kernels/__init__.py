"""Pure tensor functions for the memory cores: one module per concept.

Every function takes and returns `tf.Tensor`s, documents each argument's shape,
has no state and no Python loop over memory slots, and runs inside `tf.function`
and under XLA (`jit_compile=True`).
"""
