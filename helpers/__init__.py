"""Shared code for the generative-models course notebooks.

Notebooks hold the teaching; this package holds what would otherwise be copied between them:

- ``config``    the one fast/full switch (``COURSE_FAST``) and the run settings derived from it
- ``data``      MNIST / Fashion-MNIST loading, offline first, plus preprocessing
- ``plotting``  image grids and loss curves (each returns a figure, never calls ``plt.show``)
- ``environment`` version / GPU report for the setup notebook
"""

__version__ = "0.1.0"
