"""The node side: the Ray connection, node drain, lifecycle hook, scaling signal, IMDS."""
