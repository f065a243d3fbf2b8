"""Docker-free local API Gateway for the SAM template (a stand-in for ``sam local start-api``).

The template is expanded by ``aws-sam-translator`` and served with werkzeug: REST API events
(payload 1.0), function URLs (payload 2.0), Lambda REQUEST/TOKEN authorizers, CORS preflight
and static files, with each function running in its own warm-reused worker processes.
"""

from .environment import resolve_environment
from .server import LocalGateway
from .template import App, TemplateError, load_app

__all__ = [
    "App",
    "LocalGateway",
    "TemplateError",
    "load_app",
    "resolve_environment",
]
