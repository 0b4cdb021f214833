"""Framework-free core of the project: building blocks, data tools, metrics, visualisation."""
