"""The Kopf operator: gathers facts, applies the rendered state, observes, reports status."""
