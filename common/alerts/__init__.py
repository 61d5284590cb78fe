"""Alerts the team acts on, built from what the system already decided.

* ``picks.py``: the champion's top picks after each scored slate (never a shadow's).
"""
