"""R9 command and dispatch (指挥体系). Until it lands, only the events it will publish are defined."""

from cityops.command.events import IncidentDeclared

__all__ = ["IncidentDeclared"]
