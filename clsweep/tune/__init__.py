"""The Ray Tune layer: the only package of clsweep that imports ray (trainable, reporter, launcher)."""
