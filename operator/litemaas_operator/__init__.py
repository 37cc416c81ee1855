"""litemaas-operator: deploys and runs LiteMaaS from one LiteMaaS custom resource."""

__version__ = "0.1.0"
