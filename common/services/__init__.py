"""The services of the event functions, one module each, named as the function is.

``functions/<name>/main.py`` hands its typed event to ``common/services/<name>.py``'s service
(``common/inventory.py`` names it); the retry contract is ``common/runner.py``. A service
takes the event and the settings and returns a one-line outcome; the rules it applies
live in their own homes (the registry, grading, the reminder, the alerts).
"""
