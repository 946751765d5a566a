"""``import d2lzh_pytorch as d2l`` — the name the Chinese PyTorch port of d2l uses.

This is the same module object as :mod:`d2lmini`.
"""
import sys

import d2lmini as _d2lmini

sys.modules[__name__] = _d2lmini
