"""Names of the built-in tiny backbones (torch-free, so configs validate without importing the models)."""

TINY_LMS = ("tiny-t5", "tiny-gpt2")  # generative: the LMs text2text tasks train
TINY_BACKBONES = ("tiny", *TINY_LMS)  # "tiny" is the random-init BERT encoder
