"""The read-only dashboard: the home page (now-strip, leaderboard, staleness), a model's page, the champion
timeline, operations, the activity feed.

Served by the ``dashboard`` HTTP function (``functions/dashboard``) and by ``modelctl
dashboard``; ``web.respond`` answers both. View models are built from the registry and
grading services (``data.DashboardData``), rendered by autoescaping Jinja2 templates with
server-side SVG charts: no JavaScript, nothing loaded from elsewhere.
"""
