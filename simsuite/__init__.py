"""SimSuite: Gymnasium robotics and driving simulators on MuJoCo and PyBullet.

Importing the package registers the ``SimSuite/*`` environment ids with gymnasium.
"""

from simsuite.registration import register_all

__version__ = "0.1.0"

register_all()
