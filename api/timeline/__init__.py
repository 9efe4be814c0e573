"""A project's schedule drawn as a self-contained SVG timeline (no script, no external assets).

`layout` places everything, `text` words it, `render` draws it with the helpers of `svg`.
"""

from api.timeline.render import HEALTH_COLOURS, render_timeline

__all__ = ["HEALTH_COLOURS", "render_timeline"]
