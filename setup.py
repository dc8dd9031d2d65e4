"""The optional C kernels (simsuite/native.py); everything else is in pyproject.toml.

Here rather than in pyproject.toml because their include path comes from numpy at build
time. ``optional=True``: without a C compiler the install goes on without them.
-ffp-contract=off keeps them rounding exactly as their numpy twins do.
"""

import numpy
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "simsuite._native",
            ["simsuite/_native.c"],
            include_dirs=[numpy.get_include()],
            extra_compile_args=["-O2", "-ffp-contract=off"],
            optional=True,
        )
    ]
)
