"""Docker-free local API Gateway for the SAM template (a stand-in for ``sam local start-api``).

Serves the real Lambda handlers declared in ``template.yaml``: REST API events (payload 1.0),
function URLs (payload 2.0), Lambda REQUEST/TOKEN authorizers, CORS preflight and static
files, with each function running in its own warm-reused worker processes.
"""

from .cfn import IntrinsicError, TemplateError
from .model import App, load_app, resolve_environment
from .server import LocalGateway, load_env_vars_file

__all__ = [
    "App",
    "IntrinsicError",
    "LocalGateway",
    "TemplateError",
    "load_app",
    "load_env_vars_file",
    "resolve_environment",
]
