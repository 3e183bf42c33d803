# The metadata is in pyproject.toml; this file is kept for tools that call setup.py.
from setuptools import setup

setup()
