"""podgeo: learning pods and hubs against school districts and the children who live in them."""

__version__ = "0.1.0"
