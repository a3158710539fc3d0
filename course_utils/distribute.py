"""Pick a ``tf.distribute`` strategy for the hardware at hand (chapter 3).

Build and compile a model inside ``with strategy().scope():`` and the same code trains on one
CPU, several GPUs (each GPU gets a copy of the model and a slice of every batch; gradients are
summed across copies) or a TPU.
"""
import os


def strategy(devices=None, verbose=False):
    """A TPU strategy on a TPU, ``MirroredStrategy`` on 2+ GPUs (or over ``devices`` if given),
    otherwise the default strategy (one device, no copies)."""
    import tensorflow as tf

    if devices is not None:
        if len(devices) < 1:
            raise ValueError("devices must name at least one device, e.g. ['/cpu:0', '/cpu:1']")
        chosen = tf.distribute.MirroredStrategy(list(devices))
    elif (os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR")
          or tf.config.list_logical_devices("TPU")):
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        chosen = tf.distribute.TPUStrategy(resolver)
    elif len(tf.config.list_logical_devices("GPU")) > 1:
        chosen = tf.distribute.MirroredStrategy()
    else:
        chosen = tf.distribute.get_strategy()
    if verbose:
        print(f"strategy: {type(chosen).__name__} with {chosen.num_replicas_in_sync} replica(s)")
    return chosen
