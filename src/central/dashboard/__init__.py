"""The local dashboard: see the edge working (modules, sensors, photos with their analysis, routes, twins).

Server-rendered pages with SVG charts, so every read-only view works without
JavaScript; a few lines of script only make "Take photo" and the twin editor
update in place.
"""
